// Compiles the policy file's validators ahead of time (part of npm run build, after tsc): the
// policy schema and every rule's parameter schema as ajv standalone code, in
// dist/policy/validators.generated.cjs, which src/policy/validators.ts loads instead of compiling
// them on every run. A build output like the rest of dist/: not committed; a test compares it
// with what the sources generate now.
import { writeFileSync } from 'node:fs'
import standaloneCode from 'ajv/dist/standalone/index.js'

const { generatedValidatorsCode, GENERATED_FILE } = await import('../dist/policy/validators.js')
const { policySchema } = await import('../dist/policy/schema.js')
const { RULES } = await import('../dist/rules/index.js')

const code = generatedValidatorsCode(policySchema, RULES, standaloneCode.default)
writeFileSync(new URL(`../dist/policy/${GENERATED_FILE}`, import.meta.url), code)
