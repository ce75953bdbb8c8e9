// wao's process calls against a real ferrobeam node (spec/clients.md §3.1): hb.spawn (slot 0,
// test-device@1.0), hb.schedule (slots 1, 2), hb.compute, hb.now, hb.slot, hb.messages and
// hb.cacheScript (scheduleFlat). Every response is checked with ferrobeam's own verifier.
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { join } from "node:path"
import { HB } from "wao"
import { startNode } from "../lib/node.mjs"
import { targetDir, testWallet, testWalletAddress } from "../lib/paths.mjs"
import { assertAllSignedBy, recordResponses, takeResponses } from "../lib/verify.mjs"

// The process library, pinned from the build folder, with the `sign` capability its
// scheduler needs to commit assignments (every device of a library must be granted it).
const LIBRARY = join(targetDir, "libferrobeam_process.so")
const CONFIG = ["scheduler@1.0", "process@1.0", "patch@1.0", "test-device@1.0", "cache@1.0"]
  .map(d => `[devices."${d}"]\nlibrary = ${JSON.stringify(LIBRARY)}\ncapabilities = ["sign"]\n`)
  .join("")

recordResponses()
let node
const operator = testWalletAddress(1)
const client = testWalletAddress(2)

before(async () => {
  node = await startNode({ config: CONFIG, wallet: 1 })
  takeResponses()
})
after(() => node?.stop())

const hb = () => new HB({ url: node.url }).init(testWallet(2))

test("hb.spawn, hb.schedule (slots 1, 2), hb.compute, hb.now and hb.slot", async () => {
  const h = await hb()
  const { pid } = await h.spawn({})
  assert.match(pid, /^[\w-]{43}$/)
  const first = await h.schedule({ pid, tags: { Action: "Inc" }, data: "hello" })
  const second = await h.schedule({ pid, tags: { Action: "Inc" }, data: "again" })
  assert.equal(first.slot, 1)
  assert.equal(second.slot, 2)

  const two = await h.compute({ pid, slot: 2 })
  assert.equal(two["at-slot"], 2)
  assert.equal(two.results["assignment-slot"], 2)
  assert.equal(two.count, 2)
  assert.deepEqual(two["already-seen"], [2, 1, 0])
  const one = await h.compute({ pid, slot: 1 })
  assert.equal(one.results["assignment-slot"], 1)

  const now = await h.now({ pid })
  assert.equal(now["at-slot"], 2)
  assert.equal(now.type, "Process")
  const slot = await h.slot({ pid })
  assert.equal(slot.current, 2)
  assert.equal(slot.process, pid)
  assertAllSignedBy(operator, assert)
})

test("hb.messages lists the schedule with the signed messages and their assignments", async () => {
  const h = await hb()
  const { pid } = await h.spawn({})
  await h.schedule({ pid, tags: { Action: "Inc" }, data: "hello" })
  await h.schedule({ pid, tags: { Action: "Dec" }, data: "bye" })
  const res = await h.messages({ pid, from: 0 })
  assert.equal(res.page_info.has_next_page, false)
  assert.deepEqual(res.edges.map(e => e.cursor), [0, 1, 2])
  const [spawned, inc, dec] = res.edges.map(e => e.node)
  assert.equal(spawned.message.Id, pid)
  assert.equal(inc.message.Data, "hello")
  assert.equal(inc.message.Owner, client)
  assert.ok(inc.message.Tags.some(t => t.name === "Action" && t.value === "Inc"), JSON.stringify(inc.message.Tags))
  assert.equal(dec.message.Data, "bye")
  assert.ok(dec.assignment.Tags.some(t => t.name === "Slot" && t.value === "2"), JSON.stringify(dec.assignment.Tags))
  const tail = await h.messages({ pid, from: 2 })
  assert.deepEqual(tail.edges.map(e => e.cursor), [2])
})

test("hb.cacheScript stores data through scheduleFlat and names it by ID", async () => {
  const h = await hb()
  const lua = "function hello() return 'hi' end"
  const id = await h.cacheScript(lua, "application/lua")
  assert.match(id, /^[\w-]{43}$/)
  const res = await fetch(`${node.url}/${id}/data`)
  assert.equal(res.status, 200)
  assert.equal(await res.text(), lua)
})

test("a message a client changed after signing is refused", async () => {
  const h = await hb()
  const { pid } = await h.spawn({})
  const body = await h.commit({ type: "Message", target: pid, Action: "Transfer", Quantity: "10" }, { path: false })
  body.quantity = "1000000"
  await assert.rejects(
    h.post({ path: `/${pid}/schedule`, body }),
    err => /^400: .*Message is not valid/.test(err.message),
  )
  const slot = await h.slot({ pid })
  assert.equal(slot.current, 0)
})
