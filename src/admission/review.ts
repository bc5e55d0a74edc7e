/**
 * AdmissionReview admission.k8s.io/v1: the part of the request the webhook reads, narrowed from
 * unknown JSON, and the response it writes. Anything malformed is an AdmissionHttpError (400)
 * naming the field.
 */
import { httpError } from './errors.js'

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1'

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'
const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT']

export interface GroupVersionKind {
  group: string
  version: string
  kind: string
}

export interface AdmissionRequest {
  uid: string
  kind: GroupVersionKind
  /** Set for requests to a subresource (status, scale, ephemeralcontainers...). */
  subResource?: string
  name?: string
  namespace?: string
  operation: Operation
  username?: string
  /** The object as it will be stored (CREATE, UPDATE); absent for DELETE and CONNECT. */
  object?: Record<string, unknown>
  /** The object as it was (UPDATE). */
  oldObject?: Record<string, unknown>
  dryRun: boolean
}

export interface AdmissionStatus {
  code: number
  reason: string
  message: string
}

export interface AdmissionResponse {
  uid: string
  allowed: boolean
  status?: AdmissionStatus
  warnings?: string[]
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION
  kind: 'AdmissionReview'
  response: AdmissionResponse
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function optionalString(req: Record<string, unknown>, field: string): string | undefined {
  const v = req[field]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v !== 'string') throw httpError('BAD_REQUEST_FIELD', `${field} must be a string`)
  return v
}

/** What a JSON value is, for a message: "an array", "a string", ... */
function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  return `a ${typeof v}`
}

/** Reads an AdmissionReview body; throws AdmissionHttpError (400) with the reason when it is not one. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (body === undefined || body === '') throw httpError('EMPTY_BODY')
  if (body === null) throw httpError('NOT_REVIEW', 'the body is JSON null; POST an AdmissionReview (admission.k8s.io/v1) object')
  if (!isRecord(body)) throw httpError('NOT_REVIEW', 'the body must be a JSON object: an AdmissionReview')
  const apiVersion = body['apiVersion']
  const kind = body['kind']
  if (kind !== 'AdmissionReview') {
    throw httpError('NOT_REVIEW', `kind must be AdmissionReview, not ${kind === undefined ? 'missing' : JSON.stringify(kind).slice(0, 60)}`)
  }
  if (apiVersion !== ADMISSION_API_VERSION) {
    throw httpError('WRONG_VERSION', apiVersion === undefined ? '(missing)' : JSON.stringify(apiVersion).slice(0, 60))
  }
  const req = body['request']
  if (req === undefined || req === null) throw httpError('NO_REQUEST')
  if (!isRecord(req)) throw httpError('NOT_REVIEW', `request must be an object (the AdmissionRequest), not ${jsonType(req)}`)

  const uid = req['uid']
  if (typeof uid !== 'string' || uid === '') throw httpError('BAD_REQUEST_FIELD', 'uid is missing; the response must echo it')
  if (uid.length > 256) throw httpError('BAD_REQUEST_FIELD', 'uid is longer than 256 characters')

  const operation = req['operation']
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation)) {
    throw httpError('BAD_REQUEST_FIELD', `operation must be one of ${OPERATIONS.join(', ')}`)
  }

  const k = req['kind']
  if (!isRecord(k) || typeof k['kind'] !== 'string' || typeof k['version'] !== 'string') {
    throw httpError('BAD_REQUEST_FIELD', 'kind must be {group, version, kind}')
  }
  const gvk: GroupVersionKind = { group: typeof k['group'] === 'string' ? k['group'] : '', version: k['version'], kind: k['kind'] }

  const request: AdmissionRequest = { uid, kind: gvk, operation: operation as Operation, dryRun: req['dryRun'] === true }
  const subResource = optionalString(req, 'subResource')
  if (subResource !== undefined) request.subResource = subResource
  const name = optionalString(req, 'name')
  if (name !== undefined) request.name = name
  const namespace = optionalString(req, 'namespace')
  if (namespace !== undefined) request.namespace = namespace
  const userInfo = req['userInfo']
  if (isRecord(userInfo) && typeof userInfo['username'] === 'string') request.username = userInfo['username']

  const object = req['object']
  if (object !== undefined && object !== null) {
    if (!isRecord(object)) throw httpError('BAD_REQUEST_FIELD', 'object must be a JSON object')
    request.object = object
  }
  const oldObject = req['oldObject']
  if (oldObject !== undefined && oldObject !== null) {
    if (!isRecord(oldObject)) throw httpError('BAD_REQUEST_FIELD', 'oldObject must be a JSON object')
    request.oldObject = oldObject
  }
  if ((request.operation === 'CREATE' || request.operation === 'UPDATE') && request.object === undefined) {
    throw httpError('NO_OBJECT', request.operation)
  }
  return request
}

/**
 * The object with apiVersion and kind filled from the request when it lacks them, so the
 * engine can tell what it is. The API server sends them, but a hand-made review may not.
 */
export function typedObject(object: Record<string, unknown>, kind: GroupVersionKind): Record<string, unknown> {
  if (typeof object['apiVersion'] === 'string' && typeof object['kind'] === 'string') return object
  const apiVersion = kind.group === '' ? kind.version : `${kind.group}/${kind.version}`
  return { ...object, apiVersion: typeof object['apiVersion'] === 'string' ? object['apiVersion'] : apiVersion, kind: typeof object['kind'] === 'string' ? object['kind'] : kind.kind }
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response }
}
