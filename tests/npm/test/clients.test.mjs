// The real npm clients against a real ferrobeam node, doing what users do (spec/clients.md,
// the custom-devices guide). Every response is checked with ferrobeam's own verifier.
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { HB } from "wao"
import { connect, createSigner } from "@permaweb/aoconnect"
import { startNode } from "../lib/node.mjs"
import { testWallet, testWalletAddress } from "../lib/paths.mjs"
import { assertAllSignedBy, recordResponses, takeResponses } from "../lib/verify.mjs"

const CONFIG = `
[devices."meta@1.0"]
capabilities = ["configure"]
`

recordResponses()
let node
// Test wallet 1 is the node's; the clients sign with test wallet 2 unless they act as operator.
const operator = testWalletAddress(1)
const client = testWalletAddress(2)

before(async () => {
  node = await startNode({ config: CONFIG, wallet: 1 })
  takeResponses()
})
after(() => node?.stop())

test("HB init returns the node operator's address", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  assert.equal(hb.operator, operator)
  assert.equal(hb.addr, client)
  assertAllSignedBy(operator, assert)
})

test("hb.g('/~meta@1.0/info') returns the node options as signed, typed fields", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  const info = await hb.g("/~meta@1.0/info")
  assert.equal(info.address, operator)
  assert.equal(info.port, Number(new URL(node.url).port))
  assert.ok(Array.isArray(info.configured_devices), JSON.stringify(info))
  for (const key of Object.keys(info)) assert.ok(!key.startsWith("priv"), key)
  assertAllSignedBy(operator, assert)
})

test("hb.get({ path: '/~mydev@1.0/info' }) has headers.version == '1.0'", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  const { headers, out, hashpath, signer } = await hb.get({ path: "/~mydev@1.0/info" })
  assert.equal(headers.version, "1.0")
  assert.equal(out.version, "1.0")
  assert.equal(signer, operator)
  assert.match(hashpath, /^[\w-]{43}\/[\w-]{43}$/)
  assertAllSignedBy(operator, assert)
})

test("the guide's hello POST round-trips", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  const { body, out } = await hb.post({
    path: "/~mydev@1.0/hello",
    body: JSON.stringify({ name: "Wao" }),
  })
  assert.equal(JSON.parse(body).hello, "Hello, Wao!")
  assert.equal(JSON.parse(out).hello, "Hello, Wao!")
  assertAllSignedBy(operator, assert)
})

test("the guide's typed forward POST round-trips", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  const { out } = await hb.post({
    path: "/~mydev@1.0/forward",
    key: "abc",
    list: [1, 2, 3],
    map: { abc: "123" },
    bool: true,
    body: "test_body",
  })
  const { msg1, msg2, opts } = JSON.parse(out)
  // msg1: the TABM the guide prints; msg2: the typed message with its commitments.
  assert.equal(msg1.device, "mydev@1.0")
  assert.equal(msg1.bool, '"true"')
  assert.equal(msg1.list, '"(ao-type-integer) 1", "(ao-type-integer) 2", "(ao-type-integer) 3"')
  assert.deepEqual(msg2.list, [1, 2, 3])
  assert.equal(msg2.bool, true)
  assert.deepEqual(msg2.map, { abc: "123" })
  assert.equal(msg2.key, "abc")
  assert.equal(msg2.body, "test_body")
  assert.equal(msg2.path, "forward")
  const rsa = Object.values(msg2.commitments).filter(c => c.alg === "rsa-pss-sha512")
  assert.deepEqual(rsa.map(c => c.committer), [client])
  assert.equal(opts.address, operator)
  assertAllSignedBy(operator, assert)
})

test("hb.p('/~message@1.0/set', typed fields) returns the typed fields", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  const out = await hb.p("/~message@1.0/set", {
    hello: "world",
    num: 123,
    float: 1.5,
    list: [1, "a", true],
    empty: "",
    flag: false,
  })
  assert.equal(out.hello, "world")
  assert.equal(out.num, 123)
  assert.equal(out.float, 1.5)
  assert.deepEqual(out.list, [1, "a", true])
  assert.equal(out.empty, "")
  assert.equal(out.flag, false)
  assertAllSignedBy(operator, assert)
})

test("aoconnect request() works for GET and POST", async () => {
  const ao = connect({ MODE: "mainnet", URL: node.url, signer: createSigner(testWallet(2)) })
  const get = await ao.request({ path: "/~meta@1.0/info", method: "GET" })
  assert.equal(get.status, 200)
  assert.equal(get.headers.get("address"), operator)
  const post = await ao.request({ path: "/~message@1.0/set", method: "POST", hello: "world", num: 123 })
  assert.equal(post.status, 200, await post.clone().text())
  assert.equal(post.headers.get("hello"), "world")
  assert.equal(post.headers.get("num"), "123")
  assert.match(post.headers.get("ao-types"), /num="integer"/)
  assertAllSignedBy(operator, assert)
})

test("only the operator's signed POST changes /~meta@1.0/info", async () => {
  const stranger = await new HB({ url: node.url }).init(testWallet(2))
  await assert.rejects(stranger.p("/~meta@1.0/info", { test_config: 1 }), /^Error: 403: /)
  const hb = await new HB({ url: node.url }).init(testWallet(1))
  assert.equal(hb.addr, hb.operator)
  const out = await hb.p("/~meta@1.0/info", { test_config: 123 })
  assert.equal(out["history-length"], 1)
  const info = await hb.g("/~meta@1.0/info")
  assert.equal(info.test_config, 123)
  assertAllSignedBy(operator, assert)
})
