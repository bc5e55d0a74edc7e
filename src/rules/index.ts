/**
 * The registry: every rule, imported explicitly. A rule's id is its file name (a meta-test checks it).
 * Order here is the order of `pod-preflight rules` and of findings with the same path.
 */
import type { PodRule } from '../engine/rule.js'
import { rule as commandMissing } from './command-missing.js'
import { rule as commandWhitespaceInExecutable } from './command-whitespace-in-executable.js'
import { rule as commandBackgrounded } from './command-backgrounded.js'
import { rule as commandShellSyntaxWithoutShell } from './command-shell-syntax-without-shell.js'
import { rule as commandEnvReferenceUndefined } from './command-env-reference-undefined.js'
import { rule as initContainerNeverExits } from './init-container-never-exits.js'
import { rule as prestopExceedsGracePeriod } from './prestop-exceeds-grace-period.js'
import { rule as imageNameInvalid } from './image-name-invalid.js'
import { rule as imageTagLatest } from './image-tag-latest.js'
import { rule as imagePullPolicyNever } from './image-pull-policy-never.js'
import { rule as imageRegistryNotAllowed } from './image-registry-not-allowed.js'
import { rule as imagePrivateRegistryNoPullSecret } from './image-private-registry-no-pull-secret.js'
import { rule as memoryQuantitySuspicious } from './memory-quantity-suspicious.js'
import { rule as cpuQuantitySuspicious } from './cpu-quantity-suspicious.js'
import { rule as memoryLimitMissing } from './memory-limit-missing.js'
import { rule as memoryRequestBelowLimit } from './memory-request-below-limit.js'
import { rule as ephemeralStorageLimitMissing } from './ephemeral-storage-limit-missing.js'
import { rule as jvmHeapExceedsMemoryLimit } from './jvm-heap-exceeds-memory-limit.js'
import { rule as jvmHeapNoHeadroom } from './jvm-heap-no-headroom.js'
import { rule as jvmMemoryLimitMissing } from './jvm-memory-limit-missing.js'
import { rule as runtimeHeapExceedsMemoryLimit } from './runtime-heap-exceeds-memory-limit.js'
import { rule as probeLivenessAggressive } from './probe-liveness-aggressive.js'
import { rule as probeLivenessStartupWindowShort } from './probe-liveness-startup-window-short.js'
import { rule as probeLivenessEqualsReadiness } from './probe-liveness-equals-readiness.js'
import { rule as probePortUndeclared } from './probe-port-undeclared.js'
import { rule as probeTimeoutExceedsPeriod } from './probe-timeout-exceeds-period.js'
import { rule as probeReadinessMissing } from './probe-readiness-missing.js'
import { rule as mountPathForbidden } from './mount-path-forbidden.js'

export const RULES: readonly PodRule<unknown>[] = [
  commandMissing as PodRule<unknown>,
  commandWhitespaceInExecutable as PodRule<unknown>,
  commandBackgrounded as PodRule<unknown>,
  commandShellSyntaxWithoutShell as PodRule<unknown>,
  commandEnvReferenceUndefined as PodRule<unknown>,
  initContainerNeverExits as PodRule<unknown>,
  prestopExceedsGracePeriod as PodRule<unknown>,
  imageNameInvalid as PodRule<unknown>,
  imageTagLatest as PodRule<unknown>,
  imagePullPolicyNever as PodRule<unknown>,
  imageRegistryNotAllowed as PodRule<unknown>,
  imagePrivateRegistryNoPullSecret as PodRule<unknown>,
  memoryQuantitySuspicious as PodRule<unknown>,
  cpuQuantitySuspicious as PodRule<unknown>,
  memoryLimitMissing as PodRule<unknown>,
  memoryRequestBelowLimit as PodRule<unknown>,
  ephemeralStorageLimitMissing as PodRule<unknown>,
  jvmHeapExceedsMemoryLimit as PodRule<unknown>,
  jvmHeapNoHeadroom as PodRule<unknown>,
  jvmMemoryLimitMissing as PodRule<unknown>,
  runtimeHeapExceedsMemoryLimit as PodRule<unknown>,
  probeLivenessAggressive as PodRule<unknown>,
  probeLivenessStartupWindowShort as PodRule<unknown>,
  probeLivenessEqualsReadiness as PodRule<unknown>,
  probePortUndeclared as PodRule<unknown>,
  probeTimeoutExceedsPeriod as PodRule<unknown>,
  probeReadinessMissing as PodRule<unknown>,
  mountPathForbidden as PodRule<unknown>,
]

export const RULE_IDS: ReadonlySet<string> = new Set(RULES.map((r) => r.id))

export function ruleById(id: string): PodRule<unknown> | undefined {
  return RULES.find((r) => r.id === id)
}
