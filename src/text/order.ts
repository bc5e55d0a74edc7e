/**
 * Ordering and number formatting that do not depend on the locale.
 *
 * `String.prototype.localeCompare` and `Intl.NumberFormat` load ICU's collation and number data
 * the first time they run, which cost the CLI about 15 ms of every start (a pre-commit hook pays
 * it per commit), and make the order of findings depend on the machine's locale: the same
 * manifests sorted differently on a CI runner and a laptop. Every order we print is of ids,
 * field paths, names and namespaces, which are ASCII in practice; comparing UTF-16 code units
 * gives them the same order everywhere, and is what `kubectl` and Go's sort.Strings do.
 */

/** Compares two strings by their UTF-16 code units: a stable order that no locale changes. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Compares field paths so that list indexes go in number order (`containers[2]` before
 * `containers[10]`, where code units would put `1` then `]` the other way): a run of digits
 * against a run of digits compares by value, everything else by code units. Linear in the
 * lengths of the two strings; no locale.
 */
export function byPath(a: string, b: string): number {
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(j)
    if (isDigit(x) && isDigit(y)) {
      let ei = i
      let ej = j
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++
      // Leading zeros do not make a number larger: skip them, then the longer run is larger.
      let si = i
      let sj = j
      while (si < ei - 1 && a.charCodeAt(si) === 48) si++
      while (sj < ej - 1 && b.charCodeAt(sj) === 48) sj++
      if (ei - si !== ej - sj) return ei - si < ej - sj ? -1 : 1
      for (; si < ei; si++, sj++) {
        const d = a.charCodeAt(si) - b.charCodeAt(sj)
        if (d !== 0) return d < 0 ? -1 : 1
      }
      if (ei - i !== ej - j) return ei - i < ej - j ? -1 : 1
      i = ei
      j = ej
      continue
    }
    if (x !== y) return x < y ? -1 : 1
    i++
    j++
  }
  return a.length - i === b.length - j ? 0 : a.length - i < b.length - j ? -1 : 1
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/**
 * A whole number with its thousands grouped by commas ("12,345"), as `Intl.NumberFormat('en-US')`
 * writes it; anything but a safe integer is written as `String` writes it.
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return String(n)
  const digits = String(Math.abs(n))
  let out = ''
  let i = digits.length
  while (i > 3) {
    out = `,${digits.slice(i - 3, i)}${out}`
    i -= 3
  }
  return `${n < 0 ? '-' : ''}${digits.slice(0, i)}${out}`
}
