/** The JSON Schema of a policy file. Rule parameters are validated against each rule's own schema. */
export const POLICY_API_VERSION = 'pod-preflight/v1'
export const POLICY_KIND = 'Policy'

const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const

const ACTION_ENUM = ['deny', 'warn', 'info', 'off'] as const
const MODE_ENUM = ['enforce', 'audit'] as const
const OWNED_OBJECTS_ENUM = ['judge', 'skip'] as const

/** At most this many bindings: each one is a selector matched on every review. */
export const MAX_BINDINGS = 100

export const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: { const: POLICY_API_VERSION },
    kind: { const: POLICY_KIND },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: { name: { type: 'string' }, description: { type: 'string' } },
    },
    mode: { enum: MODE_ENUM },
    ownedObjects: { enum: OWNED_OBJECTS_ENUM },
    skipAnnotation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        namespaces: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      },
    },
    bindings: {
      type: 'array',
      maxItems: MAX_BINDINGS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'namespaceSelector'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 63 },
          namespaceSelector: labelSelector,
          mode: { enum: MODE_ENUM },
          rules: { type: 'object', additionalProperties: { enum: ACTION_ENUM } },
        },
      },
    },
    rules: {
      type: 'object',
      additionalProperties: {
        anyOf: [
          { enum: ACTION_ENUM },
          {
            type: 'object',
            additionalProperties: false,
            properties: {
              action: { enum: ACTION_ENUM },
              params: { type: 'object' },
            },
          },
        ],
      },
    },
    exemptions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['reason'],
        properties: {
          reason: { type: 'string', minLength: 1 },
          rules: { type: 'array', items: { type: 'string' }, minItems: 1 },
          namespaces: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          selector: labelSelector,
        },
      },
    },
  },
} as const
