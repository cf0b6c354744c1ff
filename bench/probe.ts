import { runPipeline, pipelineInput, syntheticAnswer } from './pipeline';
import { log } from './common';
import { formatSummary, profile, summarise } from './profile';
async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 100000);
  const a = syntheticAnswer(rows, 2000);
  log(`generated ${a.rows} rows, ${a.bytes} bytes in ${a.generateMs} ms`);
  const input = pipelineInput(a.pools);
  const parsed: unknown = JSON.parse(a.text);
  const { profile: p, value } = await profile(() => runPipeline(parsed, input));
  console.log(value.stages, value.counts);
  console.log(formatSummary(summarise(p, { top: 25, saveTo: '/tmp/pipeline.cpuprofile' }), 'pipeline'));
}
void main();
