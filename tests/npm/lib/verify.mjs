// Every HTTP response the clients receive is recorded (a wrapper around the global `fetch`,
// which wao, hbsig and aoconnect all call) and its signature checked by ferrobeam's own
// verifier, `ferrobeam-verify` — not by `hbsig.verify`, which accepts forgeries
// (spec/clients.md §4).
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { targetDir } from "./paths.mjs"

/** Responses recorded since the last `takeResponses()`. */
let recorded = []
const realFetch = globalThis.fetch

/** Starts recording every response fetched in this process. */
export function recordResponses() {
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init)
    const body = Buffer.from(await res.clone().arrayBuffer())
    const headers = []
    res.headers.forEach((value, name) => headers.push([name, value]))
    recorded.push({
      url: String(input instanceof Request ? input.url : input),
      method: init?.method ?? "GET",
      status: res.status,
      headers,
      body_b64: body.toString("base64"),
    })
    return res
  }
}

/** The responses recorded so far, clearing the record. */
export function takeResponses() {
  const out = recorded
  recorded = []
  return out
}

/**
 * Checks one recorded response with `ferrobeam-verify`: `{ verified, signatures: [{committer,
 * components, ok, error}] }`.
 */
export function verifyResponse(response) {
  const run = spawnSync(join(targetDir, "ferrobeam-verify"), {
    input: JSON.stringify(response),
    encoding: "utf8",
  })
  if (run.status === 2 || run.error) {
    throw new Error(`ferrobeam-verify failed: ${run.error ?? run.stderr}`)
  }
  return JSON.parse(run.stdout)
}

/**
 * Asserts every recorded response carries exactly one signature, by `signer`, that verifies.
 * Returns how many were checked.
 */
export function assertAllSignedBy(signer, assert) {
  const responses = takeResponses()
  assert.ok(responses.length > 0, "no responses were recorded")
  for (const r of responses) {
    const result = verifyResponse(r)
    const where = `${r.method} ${r.url} → ${r.status}`
    assert.equal(result.signatures.length, 1, `${where}: signatures ${JSON.stringify(result)}`)
    assert.equal(result.verified, true, `${where}: ${JSON.stringify(result)}`)
    assert.equal(result.signatures[0].committer, signer, `${where}: signer`)
  }
  return responses.length
}
