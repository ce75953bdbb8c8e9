// The status page (issue 11) in headless Chromium (Debian's `chromium`, installed by `make
// test`): it loads with no console errors, lists the loaded devices, and shows a reload within
// seconds. A screenshot is saved for a person to look at (its path is printed).
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { chromium } from "playwright-core"
import { startNode } from "../lib/node.mjs"
import { repo } from "../lib/paths.mjs"

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium"
const SCREENSHOT = process.env.FERROBEAM_STATUS_SCREENSHOT || join(repo, "target", "status-page.png")

test("the status page lists devices, updates live and shows a reload", async t => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: make test installs Debian's chromium`)
  const node = await startNode({ config: '[devices."mydev@1.0".options]\nround = 1\n' })
  t.after(() => node.stop())
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  })
  t.after(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const problems = []
  page.on("console", msg => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`)
  })
  page.on("pageerror", e => problems.push(`page error: ${e.message}`))
  page.on("requestfailed", r => problems.push(`request failed: ${r.url()}`))
  page.on("request", r => {
    if (!r.url().startsWith(node.url) && !r.url().startsWith("data:")) problems.push(`off-node request: ${r.url()}`)
  })

  // Some traffic for the chart while the page polls.
  let traffic = true
  const load = (async () => {
    for (let i = 0; traffic; i++) {
      const size = 1 + Math.round(4 + 4 * Math.sin(i / 6))
      const batch = Array.from({ length: size }, () =>
        fetch(`${node.url}/~mydev@1.0/info`).then(r => r.arrayBuffer()))
      await Promise.all(batch)
      await new Promise(r => setTimeout(r, 150))
    }
  })()
  const stopTraffic = async () => { traffic = false; await load }

  await page.goto(`${node.url}/status`)
  const row = page.locator('tr[data-device="mydev@1.0"]')
  await row.waitFor({ timeout: 10000 })
  for (const device of ["httpsig@1.0", "message@1.0", "meta@1.0", "mydev@1.0"]) {
    assert.equal(await page.locator(`tr[data-device="${device}"]`).count(), 1, `${device} listed`)
  }
  const before = Number(await row.getAttribute("data-generation"))
  assert.ok(before > 0)
  assert.match(await row.locator("td").nth(1).innerText(), /serving/)

  // Reload: new options for mydev@1.0, then SIGHUP (the node runs with --no-watch).
  writeFileSync(join(node.dir, "devices.toml"), '[devices."mydev@1.0".options]\nround = 2\n')
  const reloadedAt = Date.now()
  node.child.kill("SIGHUP")
  await page.waitForFunction(
    g => Number(document.querySelector('tr[data-device="mydev@1.0"]')?.dataset.generation) > g,
    before,
    { timeout: 5000 },
  )
  const seenAfter = Date.now() - reloadedAt
  assert.ok(seenAfter < 5000, `the reload showed after ${seenAfter} ms`)
  const reloads = await page.locator("#reloads").innerText()
  assert.match(reloads, /^1\b/, `one reload counted: ${reloads}`)
  // The node signed its answers: at least one fresh signature, and what each took.
  const signing = await page.locator("#signing").innerText()
  assert.match(signing, /^[1-9]\d*\s+\d+\.\d ms each/, `the node's signatures: ${signing}`)

  // Let the chart draw a few points, then keep a picture of the page.
  await page.waitForFunction(() => document.querySelectorAll("#chart path").length >= 2, null, { timeout: 10000 })
  await new Promise(r => setTimeout(r, 6000))
  mkdirSync(join(SCREENSHOT, ".."), { recursive: true })
  await page.screenshot({ path: SCREENSHOT, fullPage: true })
  console.log(`status page screenshot: ${SCREENSHOT}`)
  await stopTraffic()
  assert.deepEqual(problems, [])
})
