/**
 * The policies shipped with pod-preflight. The npm package has them as files in policies/
 * beside dist/; the single executable carries them inside itself as assets (node:sea), since
 * nothing lies beside a binary copied onto a PATH.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as sea from 'node:sea'

export const BUILTIN_POLICIES = ['default', 'strict'] as const
export type BuiltinPolicy = (typeof BUILTIN_POLICIES)[number]

/** The asset key in the single executable, and the path under the package root. */
export const builtinPolicyKey = (name: BuiltinPolicy): string => `policies/${name}.yaml`

/** The file in the npm package (or a clone); not read inside the single executable. */
export const builtinPolicyFile = (name: BuiltinPolicy): string => fileURLToPath(new URL(`../../${builtinPolicyKey(name)}`, import.meta.url))

/** True when running as the single executable (node:sea since Node 20.12; engines asks for 20.16). */
export function inSingleExecutable(): boolean {
  return typeof sea.isSea === 'function' && sea.isSea()
}

/** The text of a shipped policy: from the executable's assets, else from the package's file. */
export async function readBuiltinPolicy(name: BuiltinPolicy): Promise<string> {
  if (inSingleExecutable()) return sea.getAsset(builtinPolicyKey(name), 'utf8')
  return readFile(builtinPolicyFile(name), 'utf8')
}
