/**
 * The demo's card preview: `<dir>/cards.html`, one page that renders every Teams card with the
 * official Adaptive Cards JavaScript renderer. The renderer is read from node_modules when the
 * demo runs (it is a dev dependency; the demo runs after `npm ci`) and inlined, so the page works
 * offline from file://.
 *
 * The cards contain attacker-controlled text, so the page is built defensively: card JSON sits in
 * a `<script type="application/json">` block with `<`, `>`, `&` and line separators escaped, the
 * renderer puts text in the DOM as text, titles are set with textContent, a Content-Security-Policy
 * allows only the inline scripts and styles, and only https links (and the demo's local allowlist
 * page on http://127.0.0.1) open.
 */
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TeamsWorkflowPayload } from './teamsCard';

export interface PreviewCard {
  title: string;
  payload: TeamsWorkflowPayload;
}

/** JSON that can sit inside a <script> element without ending it or changing meaning. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Inline script text cannot contain "</script": the HTML parser would end the element there. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

function styleSafe(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}

const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('card-data').textContent);
  var AC = window.AdaptiveCards;
  var root = document.getElementById('cards');
  data.forEach(function (item) {
    var section = document.createElement('section');
    var heading = document.createElement('h2');
    heading.textContent = item.title;
    section.appendChild(heading);
    var meta = document.createElement('p');
    meta.className = 'meta';
    var bytes = new TextEncoder().encode(JSON.stringify(item.payload)).length;
    meta.textContent = bytes + ' bytes';
    section.appendChild(meta);
    var frame = document.createElement('div');
    frame.className = 'card';
    try {
      var card = new AC.AdaptiveCard();
      card.onExecuteAction = function (action) {
        var url = action && action.url;
        if (typeof url === 'string' && /^(https:\\/\\/|http:\\/\\/(127\\.0\\.0\\.1|localhost)[:\\/])/.test(url)) window.open(url, '_blank', 'noopener,noreferrer');
      };
      card.parse(item.payload.attachments[0].content);
      var element = card.render();
      if (element) frame.appendChild(element);
    } catch (e) {
      frame.textContent = 'This card could not be rendered: ' + (e && e.message ? e.message : String(e));
    }
    section.appendChild(frame);
    root.appendChild(section);
  });
})();
`;

export function renderCardsHtml(cards: readonly PreviewCard[], rendererScript: string, rendererCss = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codesign-hunt: Teams cards preview</title>
<style>${styleSafe(rendererCss)}</style>
<style>
body { font-family: "Segoe UI", system-ui, sans-serif; background: #f3f2f1; margin: 2rem; color: #242424; }
h1 { font-size: 20px; }
h2 { font-size: 14px; margin: 0 0 .25rem; }
.meta { font-size: 12px; color: #616161; margin: 0 0 .5rem; }
.card { background: #fff; max-width: 760px; border: 1px solid #e0e0e0; border-radius: 6px; overflow: hidden; }
section { margin-bottom: 2rem; }
</style>
</head>
<body>
<h1>Teams cards (${cards.length}), rendered with the Adaptive Cards renderer</h1>
<div id="cards"></div>
<script type="application/json" id="card-data">${jsonForScript(cards)}</script>
<script>${scriptSafe(rendererScript)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** The Teams payloads a folder channel wrote (`<dir>/teams/*.json`), in name order. */
export async function readFolderCards(dir: string): Promise<PreviewCard[]> {
  const teamsDir = join(dir, 'teams');
  let names: string[];
  try {
    names = (await readdir(teamsDir)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: PreviewCard[] = [];
  for (const name of names) {
    const payload = JSON.parse(await readFile(join(teamsDir, name), 'utf8')) as TeamsWorkflowPayload;
    out.push({ title: name.replace(/\.json$/, ''), payload });
  }
  return out;
}

export interface PreviewOptions {
  /** Defaults to the cards the folder channel wrote under `dir`. */
  cards?: readonly PreviewCard[];
  /** Defaults to node_modules/adaptivecards/dist/adaptivecards.min.js. */
  rendererScriptPath?: string;
}

/** Writes `<dir>/cards.html` and returns its path. */
export async function writeCardsPreview(dir: string, options: PreviewOptions = {}): Promise<string> {
  let scriptPath = options.rendererScriptPath;
  if (!scriptPath) {
    try {
      scriptPath = require.resolve('adaptivecards/dist/adaptivecards.min.js');
    } catch {
      throw new Error('the card preview needs the adaptivecards package (a dev dependency): run npm ci first');
    }
  }
  const script = await readFile(scriptPath, 'utf8');
  const css = await readFile(join(scriptPath, '..', 'adaptivecards.css'), 'utf8').catch(() => '');
  const cards = options.cards ?? (await readFolderCards(dir));
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'cards.html');
  await writeFile(path, renderCardsHtml(cards, script, css), 'utf8');
  return path;
}
