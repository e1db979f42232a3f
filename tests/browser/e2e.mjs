// Drives Debian's chromium (headless) through three pages and prints what
// each page saw, as JSON. Started by tests/browser.rs, which runs the servers.
import { chromium } from 'playwright-core';

const [sameOrigin, allowed, blocked] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-quic',
         '--disable-component-update', '--disable-sync'],
});
const results = {};
try {
  for (const [name, url] of [['same_origin', sameOrigin], ['allowed', allowed], ['blocked', blocked]]) {
    const page = await browser.newPage();
    const messages = [];
    page.on('console', (m) => messages.push(m.text()));
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.done === 'true', null, { timeout: 20000 });
    results[name] = { text: await page.$eval('#out', (e) => e.textContent), console: messages };
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
