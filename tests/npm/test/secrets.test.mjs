// No response ever carries the node's private key: every endpoint the clients reach —
// `forward`'s `opts` and `/~meta@1.0/info` included — is walked and every response byte
// searched for d, p, q, dp, dq, qi of the node wallet and for a JWK.
import { after, before, test } from "node:test"
import assert from "node:assert/strict"
import { HB } from "wao"
import { connect, createSigner } from "@permaweb/aoconnect"
import { startNode } from "../lib/node.mjs"
import { testWallet, testWalletAddress } from "../lib/paths.mjs"
import { recordResponses, takeResponses, verifyResponse } from "../lib/verify.mjs"

recordResponses()
let node
before(async () => {
  node = await startNode({
    config: `
[devices."meta@1.0"]
capabilities = ["configure"]
[devices."message@1.0"]
capabilities = ["sign"]
`,
    wallet: 1,
  })
  takeResponses()
})
after(() => node?.stop())

/** The node wallet's private numbers: the first 40 characters in base64url, base64 and hex. */
function secrets() {
  const jwk = testWallet(1)
  const out = []
  for (const part of ["d", "p", "q", "dp", "dq", "qi"]) {
    const bytes = Buffer.from(jwk[part], "base64url")
    for (const [encoding, text] of [
      ["base64url", jwk[part]],
      ["base64", bytes.toString("base64")],
      ["hex", bytes.toString("hex")],
    ]) {
      out.push([`${part} as ${encoding}`, text.slice(0, 40)])
    }
  }
  return out
}

test("no endpoint returns the node's private key, forward's opts included", async () => {
  const hb = await new HB({ url: node.url }).init(testWallet(2))
  const operatorHb = await new HB({ url: node.url }).init(testWallet(1))
  const ao = connect({ MODE: "mainnet", URL: node.url, signer: createSigner(testWallet(2)) })
  const gets = [
    "/~meta@1.0/info",
    "/~meta@1.0/info/address",
    "/~meta@1.0/build",
    "/~meta@1.0/devices",
    "/~mydev@1.0/info",
    "/~mydev@1.0/info_json",
    "/~message@1.0&a=b/keys",
    "/~message@1.0&a=b/commit",
    "/~nodev@1.0/info",
  ]
  for (const path of gets) await hb.get({ path })
  await hb.get({ path: "/~mydev@1.0/forward", key: "abc" })
  await hb.get({ path: "/~meta@1.0/info" }, { json: true })
  const forward = await hb.post({
    path: "/~mydev@1.0/forward",
    key: "abc",
    list: [1, 2, 3],
    map: { abc: "123" },
    bool: true,
    body: "test_body",
  })
  const { opts } = JSON.parse(forward.out)
  assert.equal(opts.address, testWalletAddress(1))
  for (const key of Object.keys(opts)) assert.ok(!/^priv|wallet$/.test(key), key)
  await hb.post({ path: "/~mydev@1.0/hello", body: JSON.stringify({ name: "Wao" }) })
  await operatorHb.p("/~meta@1.0/info", { test_config: 1 })
  await assert.rejects(hb.p("/~meta@1.0/info", { test_config: 2 }))
  await ao.request({ path: "/~meta@1.0/info", method: "GET" })
  await ao.request({ path: "/~message@1.0/set", method: "POST", hello: "world" })

  const responses = takeResponses()
  assert.ok(responses.length >= gets.length + 7, `${responses.length} responses`)
  const wanted = secrets()
  for (const r of responses) {
    const text =
      r.headers.map(([k, v]) => `${k}: ${v}`).join("\n") + "\n" + Buffer.from(r.body_b64, "base64").toString("latin1")
    for (const [name, needle] of wanted) {
      assert.ok(!text.includes(needle), `${r.method} ${r.url}: the response contains ${name}`)
    }
    assert.ok(!text.includes('"kty"'), `${r.method} ${r.url}: the response contains a JWK`)
    assert.ok(!r.headers.some(([k]) => k.startsWith("priv")), `${r.url}: a private header`)
    assert.equal(verifyResponse(r).verified, true, `${r.url} is not signed`)
  }
})

test("our verifier rejects a tampered response", async () => {
  await new HB({ url: node.url }).init(testWallet(2)).then(hb => hb.get({ path: "/~mydev@1.0/info" }))
  const [good] = takeResponses().slice(-1)
  assert.equal(verifyResponse(good).verified, true)
  const tampered = { ...good, headers: good.headers.map(([k, v]) => [k, k === "version" ? "2.0" : v]) }
  const result = verifyResponse(tampered)
  assert.equal(result.verified, false)
  assert.equal(result.signatures[0].ok, false)
})
