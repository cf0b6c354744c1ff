import { benchPipeline, syntheticAnswer } from './pipeline';
import { log } from './common';
const rows = Number(process.argv[2] ?? 100000);
const a = syntheticAnswer(rows, 2000);
log(`generated ${a.rows} rows, ${a.bytes} bytes in ${a.generateMs} ms`);
const r = benchPipeline(a, { repetitions: 2, devices: 2000 });
for (const row of r.rows) console.log(row.metric, row.value.toFixed(1), row.note ?? '');
console.log(r.notes.join('\n'));
