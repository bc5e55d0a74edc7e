/**
 * Container image references, read exactly as the kubelet reads them before it pulls.
 *
 * The kubelet parses `container.image` with the distribution reference library
 * (`ParseNormalizedNamed`); when that fails the container waits with reason InvalidImageName.
 * The grammar (distribution/reference v0.6.0, digests checked as go-digest v1.0.0 does):
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain "/"] path
 *   domain           := host [":" port]              port := [0-9]+
 *   host             := domain-name | "[" [a-fA-F0-9:]+ "]"
 *   domain-name      := domain-component ("." domain-component)*
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path             := path-component ("/" path-component)*      at most 255 characters
 *   path-component   := alnum (separator alnum)*     alnum := [a-z0-9]+
 *   separator        := "." | "_" | "__" | "-"+
 *   tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest           := algorithm ":" hex; the kubelet accepts sha256 (64 lower-case hex
 *                       characters), sha384 (96) and sha512 (128), nothing else
 *
 * Docker normalisation comes first: the part before the first "/" is the registry only when it
 * contains "." or ":", is "localhost", or has an upper-case letter; otherwise the registry is
 * docker.io, and a one-component path on docker.io gets the "library/" prefix
 * (`nginx` = `docker.io/library/nginx`). `index.docker.io` is the same registry as docker.io.
 * A whole reference of 64 hex characters is refused as an image ID. The repository part
 * (after the registry, before the tag) must be lower case; the registry and the tag need not.
 *
 * This module is a hand-written scanner rather than a regular expression so that it runs in
 * linear time on any input and can say which character is wrong.
 */

export interface ImageRef {
  /** The image as written. */
  input: string
  /** The registry the runtime contacts, as written or defaulted: `docker.io`, `registry.example.com:5000`. */
  domain: string
  /** The repository in that registry, normalised: `library/nginx`, `team/app`. */
  path: string
  tag?: string
  digest?: string
  /** `domain/path`. */
  name: string
  /** The canonical reference: `domain/path[:tag][@digest]`, e.g. `docker.io/library/nginx:1.27`. */
  normalized: string
  /** The name as written, without tag and digest (`registry:5000/app`), for messages. */
  repository: string
}

/** Which part of the reference is wrong, for fixes that depend on it. */
export type ImageRefErrorCode =
  | 'empty'
  | 'whitespace'
  | 'scheme'
  | 'placeholder'
  | 'identifier'
  | 'uppercase'
  | 'domain'
  | 'path'
  | 'name-length'
  | 'tag'
  | 'tag-length'
  | 'digest'

export interface ImageRefError {
  code: ImageRefErrorCode
  /** What is wrong and at which character (1-based), in words a user can act on. */
  message: string
  /** 0-based index in the input of the offending character; input.length when something is missing at the end. */
  index: number
}

export type ImageRefResult = { ok: true; ref: ImageRef } | { ok: false; error: ImageRefError }

export const DEFAULT_DOMAIN = 'docker.io'
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io'
const OFFICIAL_PREFIX = 'library/'
export const MAX_PATH_LENGTH = 255
export const MAX_TAG_LENGTH = 128
/** Hex length of each digest algorithm the kubelet accepts. */
export const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 }

const IDENTIFIER = /^[a-f0-9]{64}$/
const WHITESPACE = /\s/
const DASHES = /^-+$/
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//
const PLACEHOLDER = /\{\{|\$\{|\$\(/

const isLowerAlnum = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a
const isAlnum = (c: number): boolean => isLowerAlnum(c) || isUpper(c)
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
const isWord = (c: number): boolean => isAlnum(c) || c === 0x5f

class RefError extends Error {
  constructor(readonly code: ImageRefErrorCode, readonly index: number, message: string) {
    super(message)
  }
}

function fail(code: ImageRefErrorCode, index: number, message: string): never {
  throw new RefError(code, index, message)
}

/** A piece of the input short enough for a message. */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 60)}…` : text
}

const CHAR_NAMES: Readonly<Record<string, string>> = { ' ': 'a space', '\t': 'a tab', '\n': 'a line break', '\r': 'a carriage return' }

/** `'x' at character 3`, naming invisible characters. */
function charAt(s: string, i: number): string {
  const c = s[i] ?? ''
  const shown = CHAR_NAMES[c] ?? (WHITESPACE.test(c) ? `whitespace U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`)
  return `${shown} at character ${i + 1}`
}

/**
 * Checks one path component, s[start, end), against `alnum (separator alnum)*`.
 * `what` names the component in messages. Returns undefined when it is valid.
 */
function pathComponentError(s: string, start: number, end: number, what: string): RefError | undefined {
  if (start === end) return new RefError('path', start, `${what} is empty at character ${start + 1}`)
  let sepStart = -1
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (isLowerAlnum(c)) {
      if (sepStart >= 0) {
        const sep = s.slice(sepStart, i)
        if (!(sep === '.' || sep === '_' || sep === '__' || DASHES.test(sep))) {
          return new RefError('path', sepStart, `separator '${clip(sep)}' at character ${sepStart + 1} is not allowed in ${what}: between letters and digits use one '.', one or two '_', or any number of '-'`)
        }
        sepStart = -1
      }
      continue
    }
    if (c === 0x2e || c === 0x5f || c === 0x2d) {
      if (i === start) return new RefError('path', i, `${what} must start with a lower-case letter or digit, not ${charAt(s, i)}`)
      if (sepStart < 0) sepStart = i
      continue
    }
    if (s[i] !== s[i]?.toLowerCase()) return new RefError('uppercase', i, `repository name must be lowercase (${charAt(s, i)})`)
    if (c === 0x3a) return new RefError('path', i, `${charAt(s, i)} is not allowed in ${what}: a tag can only follow the last path component`)
    return new RefError('path', i, `${charAt(s, i)} is not allowed in ${what}: use lower-case letters, digits, '.', '_' and '-'`)
  }
  if (sepStart >= 0) return new RefError('path', sepStart, `${what} must end with a lower-case letter or digit, not ${charAt(s, sepStart)}`)
  return undefined
}

/** Checks a registry host[:port], s[start, end). Returns undefined when it is valid. */
function domainError(s: string, start: number, end: number): RefError | undefined {
  let hostEnd: number
  if (s.charCodeAt(start) === 0x5b /* [ */) {
    const close = s.indexOf(']', start)
    if (close < 0 || close >= end) return new RefError('domain', end, `registry host '${clip(s.slice(start, end))}' opens '[' for an IPv6 address but never closes it`)
    if (close === start + 1) return new RefError('domain', close, `registry host '[]' has an empty IPv6 address`)
    for (let i = start + 1; i < close; i++) {
      const c = s.charCodeAt(i)
      if (!isHex(c) && c !== 0x3a) return new RefError('domain', i, `${charAt(s, i)} is not allowed in an IPv6 registry address: use hex digits and ':' only (no zone, no dotted IPv4 part)`)
    }
    hostEnd = close + 1
    if (hostEnd < end && s.charCodeAt(hostEnd) !== 0x3a) return new RefError('domain', hostEnd, `${charAt(s, hostEnd)} after the IPv6 registry address: only ':port' may follow ']'`)
  } else {
    const colon = s.indexOf(':', start)
    hostEnd = colon >= 0 && colon < end ? colon : end
    let labelStart = start
    for (let i = start; i <= hostEnd; i++) {
      if (i < hostEnd && s.charCodeAt(i) !== 0x2e) continue
      // one label: s[labelStart, i)
      if (i === labelStart) return new RefError('domain', i, `registry host '${clip(s.slice(start, hostEnd))}' has an empty label at character ${i + 1}`)
      for (let j = labelStart; j < i; j++) {
        const c = s.charCodeAt(j)
        if (!isAlnum(c) && c !== 0x2d) return new RefError('domain', j, `${charAt(s, j)} is not allowed in registry host '${clip(s.slice(start, hostEnd))}': use letters, digits, '-' and '.'`)
      }
      if (s.charCodeAt(labelStart) === 0x2d) return new RefError('domain', labelStart, `a registry host label must not start with '-' (character ${labelStart + 1})`)
      if (s.charCodeAt(i - 1) === 0x2d) return new RefError('domain', i - 1, `a registry host label must not end with '-' (character ${i})`)
      labelStart = i + 1
    }
  }
  if (hostEnd < end) {
    // ':' port
    if (hostEnd + 1 === end) return new RefError('domain', end, `registry port after ':' (character ${hostEnd + 1}) is empty`)
    for (let i = hostEnd + 1; i < end; i++) {
      if (s.charCodeAt(i) === 0x3a && s.charCodeAt(start) !== 0x5b) {
        return new RefError('domain', i, `registry port must be digits only, found ${charAt(s, i)}; an IPv6 registry address goes in brackets, e.g. [fc00::1]:5000`)
      }
      if (!isDigit(s.charCodeAt(i))) return new RefError('domain', i, `registry port must be digits only, found ${charAt(s, i)}`)
    }
  }
  return undefined
}

function checkTag(s: string, start: number, end: number): void {
  if (start === end) fail('tag', start, `tag after ':' (character ${start}) is empty`)
  if (!isWord(s.charCodeAt(start))) fail('tag', start, `tag must start with a letter, digit or '_', not ${charAt(s, start)}`)
  for (let i = start + 1; i < end; i++) {
    const c = s.charCodeAt(i)
    if (!isWord(c) && c !== 0x2e && c !== 0x2d) {
      fail('tag', i, `${charAt(s, i)} is not allowed in a tag: use letters, digits, '_', '.' and '-'`)
    }
  }
  if (end - start > MAX_TAG_LENGTH) fail('tag-length', start + MAX_TAG_LENGTH, `tag longer than ${MAX_TAG_LENGTH} characters (it has ${end - start})`)
}

function checkDigest(s: string, start: number, end: number): void {
  if (start === end) fail('digest', start, `invalid digest: nothing after '@' (character ${start})`)
  const colon = s.indexOf(':', start)
  if (colon < 0 || colon >= end) fail('digest', start, `invalid digest: '${clip(s.slice(start, end))}' needs the form algorithm:hex, e.g. sha256:<64 hex characters>`)
  const algorithm = s.slice(start, colon)
  if (algorithm === '') fail('digest', start, `invalid digest: the algorithm before ':' is missing at character ${start + 1}`)
  const hexLength = DIGEST_HEX_LENGTH[algorithm]
  if (hexLength === undefined) {
    fail('digest', start, `invalid digest: unsupported algorithm '${clip(algorithm)}' (the kubelet accepts sha256, sha384 and sha512, in lower case)`)
  }
  for (let i = colon + 1; i < end; i++) {
    const c = s.charCodeAt(i)
    if (!isHex(c)) {
      fail('digest', i, `invalid digest: ${charAt(s, i)} is not a hex digit`)
    }
    if (c >= 0x41 && c <= 0x46) fail('digest', i, `invalid digest: hex digits must be lower case (${charAt(s, i)})`)
  }
  const got = end - colon - 1
  if (got !== hexLength) fail('digest', got < hexLength ? end : colon + 1 + hexLength, `invalid digest: ${algorithm} needs ${hexLength} hex characters, got ${got}`)
}

function parse(input: string): ImageRef {
  if (input === '') fail('empty', 0, 'image is empty')
  const scheme = SCHEME.exec(input)
  if (scheme !== null) fail('scheme', 0, `an image reference has no URL scheme: drop '${scheme[0]}' and write registry/repository:tag`)
  const placeholder = PLACEHOLDER.exec(input)
  if (placeholder !== null) {
    fail('placeholder', placeholder.index, `'${placeholder[0]}' at character ${placeholder.index + 1} is a placeholder nobody expands: Kubernetes never substitutes variables in image, so render the template first`)
  }
  const space = WHITESPACE.exec(input)
  if (space !== null) {
    const i = space.index
    const where = i === 0 ? 'starts with' : input.trim() === '' ? 'is only' : input.slice(i).trim() === '' ? 'ends with' : 'contains'
    fail('whitespace', i, `image ${where} whitespace (${charAt(input, i)})`)
  }
  if (IDENTIFIER.test(input)) fail('identifier', 0, 'a bare 64-character hex string is an image ID, not a reference the kubelet can pull')

  // Docker normalisation: which part is the registry (splitDockerDomain).
  const slash = input.indexOf('/')
  let domain = DEFAULT_DOMAIN
  let domainFromInput = false
  let remStart = 0 // where the remainder (path, tag, digest) starts in the input
  if (slash >= 0) {
    const first = input.slice(0, slash)
    if (first === LEGACY_DEFAULT_DOMAIN) {
      remStart = slash + 1
    } else if (first === 'localhost' || first.includes('.') || first.includes(':') || first.toLowerCase() !== first) {
      domain = first
      domainFromInput = true
      remStart = slash + 1
    }
  }

  // Split tag and digest off the remainder: the digest follows the first '@', the tag the first
  // ':' after the last '/' before it (nothing in a path may contain ':' or '@').
  const at = input.indexOf('@', remStart)
  const beforeDigest = at < 0 ? input.length : at
  const lastSlash = input.lastIndexOf('/', beforeDigest - 1)
  const tagColon = input.indexOf(':', Math.max(lastSlash + 1, remStart))
  const pathEnd = tagColon >= 0 && tagColon < beforeDigest ? tagColon : beforeDigest

  // The kubelet's first check: the repository (up to the first ':' after the registry) is lower case.
  // (The kubelet scans past an '@' too, so `app@SHA256:...` fails there; it is invalid either
  // way, and the digest check below says why in better words.)
  const firstColon = input.indexOf(':', remStart)
  const remoteEnd = Math.min(firstColon < 0 ? input.length : firstColon, beforeDigest)
  const remote = input.slice(remStart, remoteEnd)
  if (remote.toLowerCase() !== remote) {
    for (let i = remStart; i < remoteEnd; i++) {
      const ch = input[i] ?? ''
      if (ch !== ch.toLowerCase()) fail('uppercase', i, `repository name must be lowercase (${charAt(input, i)})`)
    }
  }

  if (domainFromInput && slash + 1 === input.length) fail('path', input.length, `image ends with '/': the repository after registry '${clip(domain)}' is missing`)

  // Path components, in the input.
  let pathError: RefError | undefined
  let compStart = remStart
  for (let i = remStart; i <= pathEnd && pathError === undefined; i++) {
    if (i < pathEnd && input.charCodeAt(i) !== 0x2f) continue
    if (i === compStart) {
      pathError =
        i === pathEnd && i > remStart
          ? new RefError('path', i, `repository path ends with '/' at character ${i}: the last component is missing`)
          : new RefError('path', i, `repository path has an empty component at character ${i + 1} ('//' or a leading '/')`)
    } else {
      pathError = pathComponentError(input, compStart, i, 'a repository path component')
    }
    compStart = i + 1
  }
  // The path as the reference grammar captures it, for the length limit.
  let grammarPath = input.slice(remStart, pathEnd)
  if (domainFromInput) {
    const error = domainError(input, 0, slash)
    if (error !== undefined) {
      // The grammar also accepts the whole name as a path when the first part is a valid path
      // component (e.g. `my_registry.local/app`); the runtime still contacts that host.
      if (pathError !== undefined || pathComponentError(input, 0, slash, 'the registry') !== undefined) {
        if (!isHostLike(domain)) throw new RefError(error.code, error.index, `${error.message} ('${clip(domain)}' is read as a registry host because it has capitals)`)
        throw error
      }
      grammarPath = input.slice(0, pathEnd)
    }
  }
  if (pathError !== undefined) throw pathError

  const library = domain === DEFAULT_DOMAIN && !input.slice(remStart, pathEnd).includes('/')
  const path = (library ? OFFICIAL_PREFIX : '') + input.slice(remStart, pathEnd)
  if (library && grammarPath === input.slice(remStart, pathEnd)) grammarPath = OFFICIAL_PREFIX + grammarPath
  if (grammarPath.length > MAX_PATH_LENGTH) {
    fail('name-length', pathEnd - 1, `repository name longer than ${MAX_PATH_LENGTH} characters (${grammarPath.length}${library ? ', counting the implied library/ prefix' : ''})`)
  }

  let tag: string | undefined
  if (pathEnd < beforeDigest) {
    checkTag(input, pathEnd + 1, beforeDigest)
    tag = input.slice(pathEnd + 1, beforeDigest)
  }
  let digest: string | undefined
  if (at >= 0) {
    checkDigest(input, at + 1, input.length)
    digest = input.slice(at + 1)
  }

  const name = `${domain}/${path}`
  const ref: ImageRef = {
    input,
    domain,
    path,
    name,
    normalized: name + (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : ''),
    repository: input.slice(0, pathEnd),
  }
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}

/** Parses an image reference as the kubelet does; on failure says what is wrong and where. */
export function parseImageRef(input: string): ImageRefResult {
  try {
    return { ok: true, ref: parse(input) }
  } catch (err) {
    if (err instanceof RefError) return { ok: false, error: { code: err.code, message: err.message, index: err.index } }
    throw err
  }
}

const cache = new Map<string, ImageRefResult>()
const CACHE_LIMIT = 4096
const CACHE_MAX_INPUT = 1024

/**
 * parseImageRef with a bounded memo: several rules read the same image of the same container,
 * and a CI run sees the same few images thousands of times. Results are shared: do not mutate.
 */
export function imageRef(input: string): ImageRefResult {
  let r = cache.get(input)
  if (r === undefined) {
    r = parseImageRef(input)
    // Long inputs are never valid references; keeping them would let a hostile request pin memory.
    if (input.length <= CACHE_MAX_INPUT) {
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(input, r)
    }
  }
  return r
}

/**
 * True when a registry looks like a host: it has a '.' or a ':port', or is localhost. A first
 * component taken for the registry only because it has capitals (`MyOrg/app`) is not host-like:
 * it is usually a Docker Hub namespace written in the wrong case.
 */
export function isHostLike(domain: string): boolean {
  return domain === 'localhost' || domain.includes('.') || domain.includes(':')
}

/** The tag the kubelet pulls: the written tag, `latest` when there is neither tag nor digest, none for a digest only. */
export function effectiveTag(ref: ImageRef): string | undefined {
  return ref.tag ?? (ref.digest === undefined ? 'latest' : undefined)
}

/** Docker Hub's other names; the reference library folds only index.docker.io into docker.io. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'])

/** A registry as compared against policy lists: lower-case host, port apart, Docker Hub's aliases folded into docker.io. */
export interface Registry {
  host: string
  port?: string
}

export function registryOf(domain: string): Registry {
  const d = domain.toLowerCase()
  const close = d.startsWith('[') ? d.indexOf(']') : -1
  const colon = d.indexOf(':', close + 1)
  const host = colon < 0 ? d : d.slice(0, colon)
  const r: Registry = { host: DOCKER_HUB_ALIASES.has(host) ? DEFAULT_DOMAIN : host }
  if (colon >= 0) r.port = d.slice(colon + 1)
  return r
}

/**
 * A registry entry of a policy list: `host`, `host:port`, `*.example.com` (a `*` stands for one
 * or more characters of the host name, dots included), optionally followed by a path prefix
 * `/team/` matched on whole path components of the normalised path (`docker.io/library/`
 * matches the official images). An entry without a port matches the host on any port.
 */
export interface RegistryPattern {
  readonly entry: string
  /** True when the entry covers this registry (from registryOf) and normalised repository path. */
  matches(registry: Registry, path: string): boolean
}

/** JSON Schema `pattern` for one entry, so that the policy loader refuses URLs and typos. */
export const REGISTRY_ENTRY_PATTERN = '^(\\[[0-9A-Fa-f:]+\\]|[A-Za-z0-9*][A-Za-z0-9*.-]*)(:[0-9]+)?(/[a-z0-9._/-]*)?$'

function compileEntry(entry: string): RegistryPattern {
  const slash = entry.indexOf('/')
  const hostPart = slash < 0 ? entry : entry.slice(0, slash)
  const prefix = slash < 0 ? '' : entry.slice(slash + 1).replace(/\/+$/, '')
  const want = registryOf(hostPart)
  let hostMatches: (host: string) => boolean
  if (want.host.includes('*')) {
    const re = new RegExp(`^${want.host.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/:\\[\\]]+')}$`)
    hostMatches = (h) => re.test(h)
  } else {
    hostMatches = (h) => h === want.host
  }
  return {
    entry,
    matches(got, path) {
      if (!hostMatches(got.host)) return false
      if (want.port !== undefined && want.port !== got.port) return false
      return prefix === '' || path === prefix || path.startsWith(`${prefix}/`)
    },
  }
}

const compiled = new WeakMap<readonly string[], readonly RegistryPattern[]>()

/** Compiles a policy's registry list once (cached by the list's identity: params are built once per policy). */
export function registryPatterns(entries: readonly string[]): readonly RegistryPattern[] {
  let p = compiled.get(entries)
  if (p === undefined) {
    p = entries.map(compileEntry)
    compiled.set(entries, p)
  }
  return p
}

/** The first entry that covers the image, if any. */
export function matchRegistry(ref: ImageRef, entries: readonly string[]): RegistryPattern | undefined {
  if (entries.length === 0) return undefined
  const registry = registryOf(ref.domain)
  return registryPatterns(entries).find((p) => p.matches(registry, ref.path))
}

/** An image for a message: quoted with escapes (so "nginx\t" shows its tab), long ones cut. */
export function quoteImage(image: string): string {
  return JSON.stringify(image.length > 100 ? `${image.slice(0, 96)}…` : image)
}
