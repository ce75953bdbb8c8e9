// @permaweb/aoconnect in mainnet mode against a real ferrobeam node (spec/clients.md §3.2): every
// call is an ANS-104 data item (`codec-device: ans104@1.0`) — spawn through POST /push (the
// `process` header), message through /<pid>~process@1.0/push ({slot}), result, results and
// dryrun through the compute routes. Every response is checked with ferrobeam's verifier.
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect, createSigner } from "@permaweb/aoconnect"
import { AOProcessClient } from "../lib/guide-client.mjs"
import { startNode } from "../lib/node.mjs"
import { repo, targetDir, testWallet, testWalletAddress, testWalletPath } from "../lib/paths.mjs"
import { assertAllSignedBy, recordResponses, takeResponses } from "../lib/verify.mjs"

const LIBRARY = join(targetDir, "libferrobeam_process.so")
const LUA = join(targetDir, "libferrobeam_lua.so")
const CONFIG =
  ["scheduler@1.0", "process@1.0", "patch@1.0", "test-device@1.0", "cache@1.0"]
    .map(d => `[devices."${d}"]\nlibrary = ${JSON.stringify(LIBRARY)}\ncapabilities = ["sign"]\n`)
    .join("") +
  ["lua@5.3a", "aos@2.0"].map(d => `[devices."${d}"]\nlibrary = ${JSON.stringify(LUA)}\n`).join("")

/** The guide's Lua files, as the Rust tests use them. */
const guideLua = name => readFileSync(join(repo, "tests/fixtures/lua", name), "utf8")

/** `ferrobeam upload` of `source` with the operator's wallet (test wallet 1): its ID. */
function upload(name, source) {
  const file = join(mkdtempSync(join(tmpdir(), "ferrobeam-upload-")), name)
  writeFileSync(file, source)
  const run = spawnSync(join(targetDir, "ferrobeam"), ["upload", file, "--node", node.url, "--wallet", testWalletPath(1)], {
    encoding: "utf8",
  })
  assert.equal(run.status, 0, run.stderr)
  const id = run.stdout.trim()
  assert.match(id, /^[\w-]{43}$/)
  return id
}

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

test("aoconnect drives the guide's token on aos@2.0, and the guide's AOProcessClient reads it", async () => {
  const client = ao()
  const me = testWalletAddress(2)
  const other = testWalletAddress(1)
  const module = upload("boot.lua", "-- the guide's token, loaded with Eval\n")
  const pid = await client.spawn({ module, tags: [{ name: "execution-device", value: "aos@2.0" }] })
  assert.match(pid, /^[\w-]{43}$/)

  // The owner loads the guide's token code and funds itself (the token has no mint).
  await client.message({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: guideLua("token.lua") })
  await client.message({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: `Balances['${me}'] = '1000'` })

  // A Transfer with tags and data, and its result: the handler's reply in Messages. (aoconnect
  // folds a `Target` tag into the item's target — the process — so the guide's Transfer,
  // which reads msg.Tags.Target, answers with its validation error; the Rust tests send the
  // tag in the item itself, tests/it/aoconnect.rs.)
  const bad = await client.message({
    process: pid,
    tags: [
      { name: "Action", value: "Transfer" },
      { name: "Amount", value: "250" },
    ],
    data: "transfer",
  })
  const res = await client.result({ process: pid, message: bad })
  assert.equal(res.Messages.length, 1, JSON.stringify(res))
  assert.equal(res.Messages[0].Target, me)
  assert.equal(res.Messages[0].Tags.find(t => t.name === "Error")?.value, "Invalid transfer parameters")

  // The owner moves 250 to another holder and exposes the balances with a patch, as the
  // guide's handler would.
  await client.message({
    process: pid,
    tags: [{ name: "Action", value: "Eval" }],
    data: `Balances['${me}'] = '750'; Balances['${other}'] = '250'; Send({ device = 'patch@1.0', balances = Balances })`,
  })
  const last = await client.message({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: "return #Inbox" })

  const latest = await client.results({ process: pid })
  assert.equal(latest.edges[0].cursor, String(last))
  assert.match(latest.edges[0].node.Output.data, /^\d+$/)

  // A dry run: the owner's Eval answers without changing the process.
  const dry = await client.dryrun({ process: pid, tags: [{ name: "Action", value: "Eval" }], data: `return Balances['${me}']` })
  assert.equal(dry.Output.data, "750")
  const after = await client.results({ process: pid })
  assert.equal(after.edges[0].cursor, String(last), "a dry run schedules nothing")

  // The guide's client: getState and getDynamicResult against this node.
  const reader = new AOProcessClient(pid, node.url)
  assert.equal(await reader.getState("cache/name"), "MyToken")
  assert.equal(await reader.getState(`balances/${other}`), "250")
  const script = upload("circulating-supply.lua", guideLua("circulating-supply.lua"))
  const supply = await reader.getDynamicResult(script, "calculate")
  assert.equal(supply.circulatingsupply, "1000")
  assert.equal(supply.holdercount, "2")
  assertAllSignedBy(operator, assert)
})
