// Starts a real `ferrobeam serve` on a free port with a test wallet as the node wallet, the
// first-party plugins and a devices.toml; stops it when the test is done.
import { spawn } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { targetDir, testWalletPath } from "./paths.mjs"

const PLUGINS = ["libferrobeam_codecs.so", "libferrobeam_message.so", "libferrobeam_meta.so", "libmydev.so"]

/**
 * Starts a node. `config` is the devices.toml text; the node wallet is test wallet
 * `wallet` (1 by default). Resolves to `{ url, stop, log, child, dir }` (`dir` holds
 * devices.toml and the plugins folder).
 */
export async function startNode({ config = "", wallet = 1 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "ferrobeam-npm-"))
  mkdirSync(join(dir, "plugins"))
  for (const lib of PLUGINS) copyFileSync(join(targetDir, lib), join(dir, "plugins", lib))
  writeFileSync(join(dir, "devices.toml"), config)
  const child = spawn(
    join(targetDir, "ferrobeam"),
    ["serve", "--port", "0", "--no-watch", "--config", join(dir, "devices.toml")],
    {
      env: { ...process.env, FERROBEAM_WALLET: testWalletPath(wallet), FERROBEAM_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  )
  const log = []
  createInterface({ input: child.stderr }).on("line", l => log.push(l))
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${log.join("\n")}`)), 20000)
    createInterface({ input: child.stdout }).on("line", line => {
      const m = line.match(/^ferrobeam listening on (http:\/\/\S+)/)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.on("exit", code => {
      clearTimeout(timer)
      reject(new Error(`node exited (${code}):\n${log.join("\n")}`))
    })
  })
  const stop = () => {
    child.kill("SIGTERM")
    rmSync(dir, { recursive: true, force: true })
  }
  return { url, stop, log, child, dir }
}
