// Compiles the policy file's validators ahead of time (part of npm run build, after tsc): the
// policy schema and every rule's parameter schema as ajv standalone code, in
// dist/policy/validators.generated.cjs, and the shipped policies as the yaml package reads them
// and as the validators fill them in, in dist/policy/policies.generated.json; src/policy/
// validators.ts loads these instead of compiling, parsing and validating on every run. Build
// outputs like the rest of dist/: not committed; a test compares them with what the sources make now.
import { readFileSync, writeFileSync } from 'node:fs'
import standaloneCode from 'ajv/dist/standalone/index.js'

const { generatedValidatorsCode, GENERATED_FILE, SHIPPED_FILE } = await import('../dist/policy/validators.js')
const { policySchema } = await import('../dist/policy/schema.js')
const { BUILTIN_POLICIES, builtinPolicyFile } = await import('../dist/policy/builtin.js')
const { RULES } = await import('../dist/rules/index.js')

writeFileSync(new URL(`../dist/policy/${GENERATED_FILE}`, import.meta.url), generatedValidatorsCode(policySchema, RULES, standaloneCode.default))
// After the validators are written: validating the shipped policies loads them (or compiles the schemas; the same result).
const { shippedPoliciesData } = await import('../dist/policy/policy.js')
const texts = BUILTIN_POLICIES.map((name) => ({ text: readFileSync(builtinPolicyFile(name), 'utf8'), source: `policies/${name}.yaml` }))
writeFileSync(new URL(`../dist/policy/${SHIPPED_FILE}`, import.meta.url), `${JSON.stringify(shippedPoliciesData(texts, RULES))}\n`)
