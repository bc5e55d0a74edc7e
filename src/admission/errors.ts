/**
 * Every error the webhook answers with, in one table. Codes are never reused: when a meaning
 * changes, add a new code. The API server never shows these to users (it applies the
 * webhook's failurePolicy to any non-200 answer); they are for whoever calls /validate by hand
 * and for the logs.
 */
export interface ErrorSpec {
  code: string
  status: number
  /** `%s` is replaced by the detail given when the error is made. */
  message: string
}

export const ERRORS = {
  NOT_JSON: { code: 'PP_ADM_NOT_JSON', status: 400, message: 'the body is not JSON: %s' },
  EMPTY_BODY: { code: 'PP_ADM_EMPTY_BODY', status: 400, message: 'the body is empty; POST an AdmissionReview (admission.k8s.io/v1) as JSON' },
  BODY_TOO_LARGE: { code: 'PP_ADM_BODY_TOO_LARGE', status: 400, message: 'the body is larger than %s bytes; no AdmissionReview is this big' },
  TOO_DEEP: { code: 'PP_ADM_TOO_DEEP', status: 400, message: 'the JSON is nested deeper than %s levels; no Kubernetes object is' },
  NOT_REVIEW: { code: 'PP_ADM_NOT_ADMISSION_REVIEW', status: 400, message: '%s' },
  WRONG_VERSION: {
    code: 'PP_ADM_WRONG_API_VERSION',
    status: 400,
    message: 'apiVersion %s is not served; pod-preflight reads admission.k8s.io/v1 only (set admissionReviewVersions: ["v1"])',
  },
  NO_REQUEST: { code: 'PP_ADM_NO_REQUEST', status: 400, message: 'the AdmissionReview has no request' },
  BAD_REQUEST_FIELD: { code: 'PP_ADM_BAD_REQUEST_FIELD', status: 400, message: 'request.%s' },
  NO_OBJECT: { code: 'PP_ADM_NO_OBJECT', status: 400, message: 'request.object is missing; a %s review must carry the object' },
  NOT_READY: { code: 'PP_ADM_NOT_READY', status: 503, message: 'not ready: %s' },
  NOT_FOUND: { code: 'PP_ADM_NOT_FOUND', status: 404, message: 'no route %s' },
  METHOD: { code: 'PP_ADM_METHOD_NOT_ALLOWED', status: 405, message: '%s' },
  TIMEOUT: { code: 'PP_ADM_REQUEST_TIMEOUT', status: 408, message: 'the request body did not arrive in time' },
  INTERNAL: { code: 'PP_ADM_INTERNAL', status: 500, message: 'internal error: %s' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorName = keyof typeof ERRORS

/** An error answered with the status and code of its table entry. */
export class AdmissionHttpError extends Error {
  override readonly name = 'AdmissionHttpError'
  readonly code: string
  readonly statusCode: number
  constructor(spec: ErrorSpec, detail = '') {
    super(spec.message.replace('%s', detail))
    this.code = spec.code
    this.statusCode = spec.status
  }
}

export function httpError(name: ErrorName, detail = ''): AdmissionHttpError {
  return new AdmissionHttpError(ERRORS[name], detail)
}

/** The body of every error answer (the shape Fastify uses for its own errors). */
export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export function errorBody(err: AdmissionHttpError): ErrorBody {
  return { statusCode: err.statusCode, code: err.code, error: REASONS[err.statusCode] ?? 'Error', message: err.message }
}
