// console.js URL USER PASSWORD SHOTDIR COUNTRY: logs in to linkwatch-console in
// headless chromium at 1366x768, checks that every column of the alert list
// shows, filters by severity and country, opens one, acknowledges it with a
// note, reloads and finds it acknowledged; on the traffic page reads the
// charts (alerts by severity, bytes by scope) and the personal data sent
// abroad (chart and table), clicks a bucket to list its alerts, and shows
// the traffic of a sensor that wrote nothing (the empty state). Prints one
// JSON line of results; screenshots go to SHOTDIR.
'use strict';
const { chromium } = require('playwright-core');
const [url, user, pass, shots, country] = process.argv.slice(2);

(async () => {
  const out = { steps: [] };
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const cspErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()); });
  try {
    await page.goto(url);
    await page.fill('#login-user', user);
    await page.fill('#login-pass', pass);
    await page.screenshot({ path: shots + '/1-login.png' });
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#alerts tbody tr');
    out.rows = await page.locator('#alerts tbody tr').count();
    await page.screenshot({ path: shots + '/2-alerts-1366x768.png' });
    // every column of the list within the window, its header not cut, no sideways scroll
    out.layout = await page.evaluate(() => {
      const list = document.querySelector('.list');
      const lr = list.getBoundingClientRect();
      return { width: window.innerWidth, list_right: lr.right, scroll: list.scrollWidth, client: list.clientWidth,
        detail_hidden: document.querySelector('#detail').classList.contains('hidden'),
        columns: Array.from(document.querySelectorAll('#alerts thead th')).map((th) => {
          const r = th.getBoundingClientRect();
          return { name: th.textContent, left: r.left, right: r.right, cut: th.scrollWidth > th.clientWidth };
        }),
        first_row: Array.from(document.querySelectorAll('#alerts tbody tr:first-child td')).map((td) => td.textContent) };
    });
    await page.selectOption('#filters select[name=severity]', '1');
    await page.fill('#filters input[name=country]', country);
    await page.click('#filters button[type=submit]');
    // (waitForFunction would need 'unsafe-eval', which the page's CSP refuses)
    await page.waitForTimeout(500);
    await page.waitForSelector('#alerts tbody tr');
    out.filtered = await page.$$eval('#alerts tbody tr', (rs) => rs.map((r) => [r.children[1].textContent, r.children[7].textContent]));
    await page.screenshot({ path: shots + '/3-filtered.png' });
    // keyboard: j selects the first row, Enter opens it
    await page.locator('body').click({ position: { x: 5, y: 700 } });
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail h3');
    out.signature = await page.textContent('#detail h3');
    out.detail_open = await page.evaluate(() => !document.querySelector('#detail').classList.contains('hidden'));
    await page.fill('#note', 'called the owner: planned backup');
    await page.click('#btn-acknowledged');
    await page.waitForSelector('#detail-status.st-acknowledged');
    await page.screenshot({ path: shots + '/4-acknowledged.png' });
    await page.reload();
    await page.waitForSelector('#alerts tbody tr');
    await page.selectOption('#filters select[name=status]', 'acknowledged');
    await page.click('#filters button[type=submit]');
    await page.waitForTimeout(500);
    out.after_reload = await page.$$eval('#alerts tbody tr', (rs) => rs.map((r) => [r.children[2].textContent, r.children[8].textContent]));
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#history li');
    out.history = await page.textContent('#history');
    await page.screenshot({ path: shots + '/5-after-reload.png' });
    await page.keyboard.press('Escape');
    out.detail_closed = await page.evaluate(() => document.querySelector('#detail').classList.contains('hidden'));
    // back to every alert before the summary page
    await page.click('#filters button[type=reset]');
    await page.waitForTimeout(300);
    await page.click('.tab[data-view=traffic]');
    await page.waitForSelector('#map svg circle', { timeout: 10000 });
    await page.waitForSelector('#chart-alerts svg g.bucket', { timeout: 10000 });
    out.map_bubbles = await page.locator('#map svg circle').count();
    out.attribution = await page.textContent('footer');
    out.charts = await page.evaluate(() => {
      const read = (sel) => Array.from(document.querySelectorAll(sel + ' svg g.bucket')).map((g) => ({
        t: +g.dataset.t, step: +g.dataset.step, total: +g.dataset.total,
        parts: Array.from(g.querySelectorAll('rect')).map((r) => [r.dataset.part, +r.dataset.value, r.getAttribute('class'),
          +r.getAttribute('height')]) }));
      const legend = (sel) => Array.from(document.querySelectorAll(sel + ' svg > text')).map((t) => t.textContent);
      return { alerts: read('#chart-alerts'), bytes: read('#chart-bytes'),
        alerts_legend: legend('#chart-alerts'), bytes_legend: legend('#chart-bytes') };
    });
    // personal data sent abroad: the table's rows and the chart's bars
    await page.waitForSelector('#pii tbody tr', { timeout: 10000 });
    out.pii = await page.evaluate(() => ({
      head: Array.from(document.querySelectorAll('#pii thead th')).map((th) => th.textContent),
      rows: Array.from(document.querySelectorAll('#pii tbody tr')).map((r) => Array.from(r.children).map((td) => td.textContent)),
      bars: Array.from(document.querySelectorAll('#chart-pii svg g.bar')).map((g) => ({
        country: g.dataset.country, total: +g.dataset.total,
        parts: Array.from(g.querySelectorAll('rect')).map((r) => [r.dataset.part, +r.dataset.value, r.getAttribute('class'),
          +r.getAttribute('height'), +r.getAttribute('x')]) })),
      legend: Array.from(document.querySelectorAll('#chart-pii svg > text')).map((t) => t.textContent),
      shown: ['#chart-pii', '#pii', '#pii-empty'].map((s) => document.querySelector(s).getBoundingClientRect().height > 0) }));
    await page.screenshot({ path: shots + '/6-traffic.png', fullPage: true });
    // the bucket with the most alerts, clicked, lists exactly its alerts
    const buckets = out.charts.alerts;
    if (buckets.length) {
      const best = buckets.reduce((a, b) => (b.total > a.total ? b : a));
      out.clicked = best;
      await page.click('#chart-alerts svg g.bucket[data-t="' + best.t + '"] rect');
      await page.waitForTimeout(800);
      await page.waitForSelector('#alerts tbody tr');
      out.bucket_rows = await page.$$eval('#alerts tbody tr', (rs) => rs.map((r) => r.children[0].textContent));
      out.bucket_form = await page.evaluate(() => [document.querySelector('#filters input[name=from]').value,
        document.querySelector('#filters input[name=to]').value]);
      await page.screenshot({ path: shots + '/7-bucket-alerts.png' });
    }
    // a sensor that wrote nothing: the section says nothing was sent abroad
    await page.fill('#filters input[name=sensor]', 'no-such-sensor');
    await page.click('#filters button[type=submit]');
    await page.click('.tab[data-view=traffic]');
    await page.waitForSelector('#pii-empty', { state: 'visible', timeout: 10000 });
    out.pii_empty = await page.evaluate(() => ({ text: document.querySelector('#pii-empty').textContent,
      rows: document.querySelectorAll('#pii tbody tr').length,
      shown: ['#chart-pii', '#pii'].map((s) => document.querySelector(s).getBoundingClientRect().height > 0) }));
    await page.screenshot({ path: shots + '/8-no-personal-data.png', fullPage: true });
  } catch (e) {
    out.error = String(e);
    await page.screenshot({ path: shots + '/error.png' }).catch(() => {});
  }
  out.console_errors = cspErrors;
  await browser.close();
  console.log(JSON.stringify(out));
})();
