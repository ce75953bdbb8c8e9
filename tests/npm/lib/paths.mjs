// Where the built ferrobeam binaries and the shared vectors are.
import { fileURLToPath } from "node:url"
import { readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

const here = dirname(fileURLToPath(import.meta.url))

/** The repository root (tests/npm/lib → ../../..). */
export const repo = resolve(here, "../../..")

/** The cargo profile folder holding `ferrobeam`, `ferrobeam-verify` and the plugins. */
export const targetDir = process.env.FERROBEAM_TARGET_DIR
  ? resolve(process.env.FERROBEAM_TARGET_DIR)
  : join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, "target"), "debug")

/** The shared test vectors (`../shared/vectors` next to the repository). */
export const vectorsDir = process.env.FERROBEAM_VECTORS
  ? resolve(process.env.FERROBEAM_VECTORS)
  : resolve(repo, "../shared/vectors")

/** A test wallet of the vectors (public keys, tests only). */
export const testWalletPath = n => join(vectorsDir, "wallets", `test-wallet-${n}.json`)

/** Test wallet `n` as a JWK object. */
export const testWallet = n => JSON.parse(readFileSync(testWalletPath(n), "utf8"))

/** The address of test wallet `n`, from the vectors' `wallets.json`. */
export const testWalletAddress = n =>
  JSON.parse(readFileSync(join(vectorsDir, "wallets", "wallets.json"), "utf8")).wallets[n - 1].address
