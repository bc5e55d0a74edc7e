/**
 * The built-in kinds' schemas validated as they are read, without compiling them: they use six
 * keywords only (type, properties, additionalProperties, required, items, $ref; test/schema
 * pins that), and compiling a validator with ajv cost a pre-commit run of `check` hundreds of
 * milliseconds per kind, more than reading the file.
 *
 * The errors are ajv's for the same schema (allErrors, verbose: keyword, instancePath, params,
 * data, parentSchema) in ajv's order: a type error alone, else the missing required fields in the
 * schema's order, then the fields the schema does not declare in the object's order, then each
 * declared field in the schema's order; list items in order. test/schema compares both on a
 * corpus. Work is linear in the object; recursion is as deep as the object, which the reader bounds.
 */

/** A schema node of the shipped data (scripts/k8s-schemas.ts writes only these keywords). */
export interface SubsetSchema {
  type?: string | string[]
  properties?: Record<string, SubsetSchema>
  additionalProperties?: boolean | SubsetSchema
  required?: string[]
  items?: SubsetSchema
  $ref?: string
}

/** What ajv's ErrorObject carries that the schema check reads. */
export interface SubsetError {
  keyword: 'type' | 'required' | 'additionalProperties'
  instancePath: string
  params: { type?: string | string[]; missingProperty?: string; additionalProperty?: string }
  data: unknown
  parentSchema: SubsetSchema
}

/** The keywords a schema node may use here; anything else is refused when a validator is made. */
export const SUBSET_KEYWORDS: ReadonlySet<string> = new Set(['type', 'properties', 'additionalProperties', 'required', 'items', '$ref'])

const REF_PREFIX = '#/definitions/'

/** ajv's type tests (strictNumbers off, as with strict: false): an integer is a number with no fraction. */
function hasType(type: string, d: unknown): boolean {
  switch (type) {
    case 'null':
      return d === null
    case 'array':
      return Array.isArray(d)
    case 'object':
      return typeof d === 'object' && d !== null && !Array.isArray(d)
    case 'integer':
      return typeof d === 'number' && !(d % 1) && !Number.isNaN(d)
    case 'number':
      return typeof d === 'number'
    default:
      return typeof d === type
  }
}

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1')

/** `{}`, or a node with nothing to check: never an error (ajv skips such subschemas too). */
function alwaysValid(s: SubsetSchema | boolean | undefined): boolean {
  if (s === undefined || s === true) return true
  if (s === false) return false
  for (const _ in s) return false
  return true
}

/**
 * A validator for the definition `name` of `definitions`, which returns the errors (empty when
 * the object is valid). A $ref names another definition of the same set.
 */
export function subsetValidator(definitions: Readonly<Record<string, SubsetSchema>>, name: string): (data: unknown) => SubsetError[] {
  const resolve = (ref: string): SubsetSchema => {
    const def = ref.startsWith(REF_PREFIX) ? definitions[ref.slice(REF_PREFIX.length)] : undefined
    if (def === undefined) throw new Error(`schema reference ${ref} is not among the definitions`)
    return def
  }
  const visit = (schema: SubsetSchema, data: unknown, path: string, errors: SubsetError[]): void => {
    if (schema.$ref !== undefined) {
      visit(resolve(schema.$ref), data, path, errors)
      return
    }
    const type = schema.type
    if (type !== undefined) {
      const ok = typeof type === 'string' ? hasType(type, data) : type.some((t) => hasType(t, data))
      if (!ok) {
        errors.push({ keyword: 'type', instancePath: path, params: { type }, data, parentSchema: schema })
        return
      }
    }
    if (hasType('object', data)) {
      const obj = data as Record<string, unknown>
      for (const r of schema.required ?? []) {
        if (obj[r] === undefined) errors.push({ keyword: 'required', instancePath: path, params: { missingProperty: r }, data, parentSchema: schema })
      }
      const props = schema.properties
      const additional = schema.additionalProperties
      if (!alwaysValid(additional)) {
        for (const key in obj) {
          if (props !== undefined && key !== '__proto__' && Object.prototype.hasOwnProperty.call(props, key)) continue
          if (additional === false) errors.push({ keyword: 'additionalProperties', instancePath: path, params: { additionalProperty: key }, data, parentSchema: schema })
          else visit(additional as SubsetSchema, obj[key], `${path}/${escapePointer(key)}`, errors)
        }
      }
      if (props !== undefined) {
        for (const key in props) {
          const sub = props[key]
          if (sub === undefined || alwaysValid(sub) || key === '__proto__') continue
          const value = obj[key]
          if (value !== undefined) visit(sub, value, `${path}/${escapePointer(key)}`, errors)
        }
      }
    } else if (Array.isArray(data) && schema.items !== undefined && !alwaysValid(schema.items)) {
      for (let i = 0; i < data.length; i++) visit(schema.items, data[i], `${path}/${i}`, errors)
    }
  }
  const root = resolve(`${REF_PREFIX}${name}`)
  return (data) => {
    const errors: SubsetError[] = []
    visit(root, data, '', errors)
    return errors
  }
}
