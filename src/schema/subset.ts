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
 * corpus. Work: one walk of a valid object; an invalid one is walked again in that order from each
 * object above an error (at most depth × size); recursion is as deep as the object, which the
 * reader bounds. About 3× the time of ajv's compiled code on the bench's documents, and no compile.
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

function anyType(types: readonly string[], d: unknown): boolean {
  for (const t of types) if (hasType(t, d)) return true
  return false
}

/** hasType for one type, chosen once per schema node. */
function typeTest(type: string): (d: unknown) => boolean {
  switch (type) {
    case 'string':
      return (d) => typeof d === 'string'
    case 'object':
      return (d) => typeof d === 'object' && d !== null && !Array.isArray(d)
    case 'array':
      return Array.isArray
    case 'boolean':
      return (d) => typeof d === 'boolean'
    default:
      return (d) => hasType(type, d)
  }
}

const escapePointer = (key: string): string => (key.includes('~') || key.includes('/') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key)

/** The data path as segments, pushed and popped during the walk; made into a JSON pointer only for an error. */
type PathStack = (string | number)[]
const pointer = (path: PathStack): string => {
  let out = ''
  for (const seg of path) out += `/${typeof seg === 'number' ? String(seg) : escapePointer(seg)}`
  return out
}

/** `{}`, or a node with nothing to check: never an error (ajv skips such subschemas too). */
function alwaysValid(s: SubsetSchema | boolean | undefined): boolean {
  if (s === undefined || s === true) return true
  if (s === false) return false
  for (const _ in s) return false
  return true
}

/** `ordered`: walk in ajv's order at once (inside an object being walked again for its errors). */
type Check = (data: unknown, path: PathStack, errors: SubsetError[], ordered: boolean) => void

const isObject = (d: unknown): d is Record<string, unknown> => typeof d === 'object' && d !== null && !Array.isArray(d)

/**
 * A validator for the definition `name` of `definitions`, which returns the errors (empty when
 * the object is valid). A $ref names another definition of the same set. Each schema node is
 * turned into a closure once, on first use (no code is generated); the walk then does only what
 * the data needs.
 */
export function subsetValidator(definitions: Readonly<Record<string, SubsetSchema>>, name: string): (data: unknown) => SubsetError[] {
  const byName = new Map<string, Check | null>()
  const definition = (ref: string): SubsetSchema => {
    const def = ref.startsWith(REF_PREFIX) ? definitions[ref.slice(REF_PREFIX.length)] : undefined
    if (def === undefined) throw new Error(`schema reference ${ref} is not among the definitions`)
    return def
  }
  // A reference is compiled when first followed, so recursive definitions end.
  const reference = (ref: string): Check => {
    const schema = definition(ref)
    // Each reference site keeps what it found: the shared map is asked once per site, not per value.
    let found: Check | null | undefined
    return (data, path, errors, ordered) => {
      if (found === undefined) {
        found = byName.get(ref)
        if (found === undefined) {
          found = compile(schema) ?? null
          byName.set(ref, found)
        }
      }
      if (found !== null) found(data, path, errors, ordered)
    }
  }
  /** Undefined: the node accepts anything. */
  const compile = (schema: SubsetSchema): Check | undefined => {
    if (schema.$ref !== undefined) return reference(schema.$ref)
    if (alwaysValid(schema)) return undefined
    const type = schema.type
    const typeOk: ((d: unknown) => boolean) | undefined =
      type === undefined ? undefined : typeof type === 'string' ? typeTest(type) : (d) => anyType(type, d)
    const required = schema.required ?? []
    const props = schema.properties
    const additional = schema.additionalProperties
    const checkAdditional = alwaysValid(additional) ? undefined : additional === false ? false : compile(additional as SubsetSchema)
    const declared: [string, Check][] = []
    if (props !== undefined) {
      for (const key in props) {
        const sub = props[key]
        if (sub === undefined || key === '__proto__') continue
        const fn = compile(sub)
        if (fn !== undefined) declared.push([key, fn])
      }
    }
    // Every declared field, with its check or null when the field accepts anything: one look-up per field of the data.
    const declaredByName = new Map<string, Check | null>()
    if (props !== undefined) for (const key in props) if (key !== '__proto__' && props[key] !== undefined) declaredByName.set(key, null)
    for (const [key, fn] of declared) declaredByName.set(key, fn)
    const items = schema.items !== undefined ? compile(schema.items) : undefined
    const hasOwn = Object.prototype.hasOwnProperty
    const inOrder = (data: Record<string, unknown>, path: PathStack, errors: SubsetError[]): void => {
      for (const r of required) {
        if (data[r] === undefined) errors.push({ keyword: 'required', instancePath: pointer(path), params: { missingProperty: r }, data, parentSchema: schema })
      }
      if (checkAdditional !== undefined) {
        for (const key in data) {
          if (props !== undefined && key !== '__proto__' && hasOwn.call(props, key)) continue
          if (checkAdditional === false) {
            errors.push({ keyword: 'additionalProperties', instancePath: pointer(path), params: { additionalProperty: key }, data, parentSchema: schema })
          } else {
            path.push(key)
            checkAdditional(data[key], path, errors, true)
            path.pop()
          }
        }
      }
      for (const [key, fn] of declared) {
        const value = data[key]
        if (value === undefined) continue
        path.push(key)
        fn(value, path, errors, true)
        path.pop()
      }
    }
    return (data, path, errors, ordered) => {
      if (typeOk !== undefined && !typeOk(data)) {
        errors.push({ keyword: 'type', instancePath: pointer(path), params: { type: type as string | string[] }, data, parentSchema: schema })
        return
      }
      if (isObject(data) && ordered) {
        inOrder(data, path, errors)
      } else if (isObject(data)) {
        // One pass over the object's own fields; only when it finds an error is the object walked
        // again, in ajv's order (required, undeclared fields, declared ones) all the way down, so a
        // valid object costs one walk and an invalid one at most one more per level above the error.
        const start = errors.length
        for (const key in data) {
          const value = data[key]
          const fn = declaredByName.get(key)
          if (fn !== undefined) {
            if (fn === null || value === undefined) continue
            path.push(key)
            fn(value, path, errors, false)
            path.pop()
          } else if (checkAdditional === false) {
            errors.push({ keyword: 'additionalProperties', instancePath: pointer(path), params: { additionalProperty: key }, data, parentSchema: schema })
          } else if (checkAdditional !== undefined) {
            path.push(key)
            checkAdditional(value, path, errors, false)
            path.pop()
          }
        }
        for (const r of required) if (data[r] === undefined) errors.push({ keyword: 'required', instancePath: pointer(path), params: { missingProperty: r }, data, parentSchema: schema })
        if (errors.length > start) {
          errors.length = start
          inOrder(data, path, errors)
        }
      } else if (items !== undefined && Array.isArray(data)) {
        for (let i = 0; i < data.length; i++) {
          path.push(i)
          items(data[i], path, errors, ordered)
          path.pop()
        }
      }
    }
  }
  const root = reference(`${REF_PREFIX}${name}`)
  return (data) => {
    const errors: SubsetError[] = []
    root(data, [], errors, false)
    return errors
  }
}
