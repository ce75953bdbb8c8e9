// @permaweb/aoconnect in mainnet mode against a real ferrobeam node (spec/clients.md §3.2): every
// call is an ANS-104 data item (`codec-device: ans104@1.0`) — spawn through POST /push (the
// `process` header), message through /<pid>~process@1.0/push ({slot}), result, results and
// dryrun through the compute routes. Every response is checked with ferrobeam's verifier.
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { join } from "node:path"
import { connect, createSigner } from "@permaweb/aoconnect"
import { startNode } from "../lib/node.mjs"
import { targetDir, testWallet, testWalletAddress } from "../lib/paths.mjs"
import { assertAllSignedBy, recordResponses, takeResponses } from "../lib/verify.mjs"

const LIBRARY = join(targetDir, "libferrobeam_process.so")
const CONFIG = ["scheduler@1.0", "process@1.0", "patch@1.0", "test-device@1.0", "cache@1.0"]
  .map(d => `[devices."${d}"]\nlibrary = ${JSON.stringify(LIBRARY)}\ncapabilities = ["sign"]\n`)
  .join("")

recordResponses()
let node
const operator = testWalletAddress(1)
const MODULE = "ISShJH1ij-hPPt9St5UFFr_8Ys3Kj5cyg7zrMGt7H9s"

before(async () => {
  node = await startNode({ config: CONFIG, wallet: 1 })
  takeResponses()
})
after(() => node?.stop())

const ao = () => connect({ MODE: "mainnet", URL: node.url, signer: createSigner(testWallet(2)) })

test("aoconnect spawn, message, result, results and dryrun (test-device@1.0)", async () => {
  const client = ao()
  const pid = await client.spawn({
    module: MODULE,
    tags: [{ name: "execution-device", value: "test-device@1.0" }, { name: "Name", value: "t" }],
    data: "hi",
  })
  assert.match(pid, /^[\w-]{43}$/)

  const first = await client.message({ process: pid, tags: [{ name: "Action", value: "Inc" }], data: "one" })
  const second = await client.message({ process: pid, tags: [{ name: "Action", value: "Inc" }], data: "two" })
  assert.equal(Number(first), 1)
  assert.equal(Number(second), 2)

  // aoconnect reads a result's `raw` (the AO result: Output, Messages, Spawns, …); the test
  // device has none, so these are the empty results aoconnect fills in.
  const one = await client.result({ process: pid, message: first })
  assert.deepEqual(one.Messages, [])
  assert.deepEqual(one.Output, {})

  const all = await client.results({ process: pid })
  assert.equal(all.edges.length, 1)
  assert.equal(all.edges[0].cursor, "2")
  assert.deepEqual(all.edges[0].node.Spawns, [])

  const dry = await client.dryrun({ process: pid, tags: [{ name: "Action", value: "Get" }] })
  assert.deepEqual(dry.Messages, [])
  const after = await client.results({ process: pid })
  assert.equal(after.edges[0].cursor, "2", "a dry run schedules nothing")
  assertAllSignedBy(operator, assert)
})
