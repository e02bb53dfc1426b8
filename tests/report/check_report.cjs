// Opens an unlearn HTML report in headless Chromium (Debian's, driven by playwright-core) with
// the network off, and checks that it is complete and true to its result file:
//  - no console errors or warnings, no uncaught exceptions, no request leaves the page;
//  - every chart rendered an SVG with marks;
//  - every headline-table cell equals the value in the result file its row came from;
//  - the seven sections (or those listed in EXPECT_SECTIONS) are present.
// Saves a full-page screenshot.
// Usage: node check_report.cjs REPORT.html SHOT.png RESULT.json... (in the report's order)
// Prints "N passed, M failed" and exits 1 on any failure.
const path = require('path');
const fs = require('fs');
const { chromium } = require('playwright-core');

const [html, shot, ...jsons] = process.argv.slice(2);
const sections = ['headline', 'section-tradeoff', 'section-accuracy', 'section-convergence',
  'section-membership', 'section-embedding', 'section-provenance'];

// What a headline cell should hold, from the result file (see src/report/html_report.cpp).
function expected(result, role, metric) {
  const entry = result.models[role];
  if (metric === 'avg_gap') return entry.avg_gap;
  if (metric === 'time_s') {
    return role === 'original' || role === 'retrain' ? entry.time_s : result.time_s.unlearn;
  }
  return entry.metrics[metric];
}

(async () => {
  const results = jsons.map((j) => JSON.parse(fs.readFileSync(j, 'utf8')));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
  });
  await page.goto('file://' + path.resolve(html), { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.hasAttribute('data-charts-done'), null, { timeout: 60000 });
  const charts = await page.$$eval('.chart', (els) => els.map((e) => ({
    id: e.id,
    state: e.getAttribute('data-rendered'),
    marks: e.querySelectorAll('svg g.role-mark > *').length,
  })));
  const cells = await page.$$eval('tr[data-role] td[data-metric]', (tds) => tds.map((t) => ({
    role: t.parentElement.getAttribute('data-role'),
    source: Number(t.parentElement.getAttribute('data-source')),
    metric: t.getAttribute('data-metric'),
    value: Number(t.getAttribute('data-value')),
    text: Number(t.textContent.trim()),
  })));
  const present = await page.$$eval('h2[id]', (hs) => hs.map((h) => h.id));
  await page.screenshot({ path: shot, fullPage: true });
  await browser.close();

  let passed = 0;
  const check = (ok, what) => { if (ok) passed += 1; else problems.push(what); };
  for (const c of charts) check(c.state === 'ok' && c.marks > 0, `chart ${c.id}: ${c.state}, ${c.marks} marks`);
  check(cells.length > 0, 'the headline table has no cells');
  for (const c of cells) {
    const result = results[c.source];
    const want = result === undefined ? undefined : expected(result, c.role, c.metric);
    check(want === c.value, `cell ${c.source}:${c.role}.${c.metric}: page ${c.value}, JSON ${want}`);
    const digits = c.metric === 'time_s' ? 0.05 : 0.005;
    check(Math.abs(c.text - want) <= digits + 1e-9, `cell ${c.role}.${c.metric}: shows ${c.text}, JSON ${want}`);
  }
  const wanted = (process.env.EXPECT_SECTIONS || sections.join(',')).split(',');
  for (const s of wanted) check(present.includes(s), `section ${s} is missing`);
  const drawn = charts.filter((c) => c.state === 'ok').length;
  if (process.env.EXPECT_CHARTS) {
    check(drawn === Number(process.env.EXPECT_CHARTS), `${drawn} charts drawn, expected ${process.env.EXPECT_CHARTS}`);
  }
  for (const p of problems) console.error('FAIL: ' + p);
  console.log(`${passed} passed, ${problems.length} failed (${drawn} charts, ${cells.length} cells)`);
  process.exit(problems.length ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
