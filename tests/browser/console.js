// console.js URL USER PASSWORD SHOTDIR COUNTRY: logs in to linkwatch-console in
// headless chromium, checks the alerts, filters by severity and country,
// opens one, acknowledges it with a note, reloads and finds it acknowledged.
// Prints one JSON line of results; screenshots go to SHOTDIR.
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
    await page.screenshot({ path: shots + '/2-alerts.png' });
    await page.selectOption('#filters select[name=severity]', '1');
    await page.fill('#filters input[name=country]', country);
    await page.click('#filters button[type=submit]');
    // (waitForFunction would need 'unsafe-eval', which the page's CSP refuses)
    await page.waitForTimeout(500);
    await page.waitForSelector('#alerts tbody tr');
    out.filtered = await page.$$eval('#alerts tbody tr', (rs) => rs.map((r) => [r.children[1].textContent, r.children[5].textContent]));
    await page.screenshot({ path: shots + '/3-filtered.png' });
    // keyboard: j selects the first row, Enter opens it
    await page.locator('body').click({ position: { x: 5, y: 700 } });
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail h3');
    out.signature = await page.textContent('#detail h3');
    await page.fill('#note', 'called the owner: planned backup');
    await page.click('#btn-acknowledged');
    await page.waitForSelector('#detail-status.st-acknowledged');
    await page.screenshot({ path: shots + '/4-acknowledged.png' });
    await page.reload();
    await page.waitForSelector('#alerts tbody tr');
    await page.selectOption('#filters select[name=status]', 'acknowledged');
    await page.click('#filters button[type=submit]');
    await page.waitForTimeout(500);
    out.after_reload = await page.$$eval('#alerts tbody tr', (rs) => rs.map((r) => [r.children[2].textContent, r.children[6].textContent]));
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#history li');
    out.history = await page.textContent('#history');
    await page.screenshot({ path: shots + '/5-after-reload.png' });
    await page.click('.tab[data-view=traffic]');
    await page.waitForSelector('#map svg circle', { timeout: 10000 });
    out.map_bubbles = await page.locator('#map svg circle').count();
    out.attribution = await page.textContent('footer');
    await page.screenshot({ path: shots + '/6-traffic.png', fullPage: true });
  } catch (e) {
    out.error = String(e);
    await page.screenshot({ path: shots + '/error.png' }).catch(() => {});
  }
  out.console_errors = cspErrors;
  await browser.close();
  console.log(JSON.stringify(out));
})();
