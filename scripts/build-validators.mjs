// Compiles the policy file's validators ahead of time (part of npm run build, after tsc): the
// policy schema and every rule's parameter schema as ajv standalone code, and the shipped
// policies as the yaml package reads them, in dist/policy/validators.generated.cjs, which
// src/policy/validators.ts loads instead of compiling and parsing them on every run. A build
// output like the rest of dist/: not committed; a test compares it with what the sources make now.
import { readFileSync, writeFileSync } from 'node:fs'
import standaloneCode from 'ajv/dist/standalone/index.js'

const { generatedValidatorsCode, GENERATED_FILE } = await import('../dist/policy/validators.js')
const { policySchema } = await import('../dist/policy/schema.js')
const { readPolicyText } = await import('../dist/policy/policy.js')
const { BUILTIN_POLICIES, builtinPolicyFile } = await import('../dist/policy/builtin.js')
const { RULES } = await import('../dist/rules/index.js')

const policies = BUILTIN_POLICIES.map((name) => {
  const text = readFileSync(builtinPolicyFile(name), 'utf8')
  return { text, content: readPolicyText(text, `policies/${name}.yaml`).content }
})
const code = generatedValidatorsCode(policySchema, RULES, standaloneCode.default, policies)
writeFileSync(new URL(`../dist/policy/${GENERATED_FILE}`, import.meta.url), code)
