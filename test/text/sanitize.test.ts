import t from 'tap'
import { escapeControls, escapeControlsKeepNewlines, hasControls, quote, safeText, shorten } from '../../src/text/sanitize.js'

t.test('escapeControls: C0, DEL, C1, bidi and separators become visible escapes', async (t) => {
  t.equal(escapeControls('plain text, ünïcödé and 😀'), 'plain text, ünïcödé and 😀', 'safe text comes back as it is')
  t.equal(escapeControls('a\nb\tc\rd'), 'a\\nb\\tc\\rd')
  t.equal(escapeControls('\u001b[31mred\u001b[0m'), '\\x1b[31mred\\x1b[0m', 'ESC')
  t.equal(escapeControls('ring\u0007'), 'ring\\a', 'BEL')
  t.equal(escapeControls('\u009b2J'), '\\x9b2J', '8-bit CSI')
  t.equal(escapeControls('\u0085next'), '\\x85next', 'NEL (C1)')
  t.equal(escapeControls('\u007f'), '\\x7f', 'DEL')
  t.equal(escapeControls('\u0000'), '\\0', 'NUL')
  t.equal(escapeControls('abc\u202edcba'), 'abc\\u202edcba', 'right-to-left override')
  t.equal(escapeControls('\u2066x\u2069\u200f\u061c'), '\\u2066x\\u2069\\u200f\\u061c', 'isolates and marks')
  t.equal(escapeControls('a\u2028b\u2029c'), 'a\\u2028b\\u2029c', 'line and paragraph separators')
  t.equal(escapeControls('lone \ud800 and \udc00'), 'lone \\ud800 and \\udc00', 'lone surrogates')
  t.equal(escapeControls('pair \ud83d\ude00'), 'pair 😀', 'a surrogate pair is kept')
  t.equal(escapeControls('back\\slash'), 'back\\slash', 'backslashes are left alone')
  t.notOk(hasControls('fine'))
  t.ok(hasControls('not\u001bfine'))
})

t.test('escapeControls: a newline in a name cannot start a line of its own', async (t) => {
  const name = 'web\nDENY everything is fine'
  const line = `pod ${escapeControls(name)} denied`
  t.equal(line.split('\n').length, 1)
  t.notMatch(line, /^DENY/m)
})

t.test('escapeControlsKeepNewlines: our own line breaks stay, everything else is escaped', async (t) => {
  t.equal(escapeControlsKeepNewlines('line 1\nline 2\r\u001b[2K'), 'line 1\nline 2\\r\\x1b[2K')
})

t.test('shorten: by code points, never half a surrogate pair, ellipsis when cut', async (t) => {
  t.equal(shorten('short', 10), 'short')
  t.equal(shorten('exactly10!', 10), 'exactly10!')
  t.equal(shorten('0123456789abc', 10), '012345678…')
  t.equal(Array.from(shorten('😀'.repeat(20), 10)).length, 10)
  t.equal(shorten('😀'.repeat(20), 10), `${'😀'.repeat(9)}…`)
  t.equal(shorten('😀'.repeat(10), 10), '😀'.repeat(10), 'ten astral characters fit in ten')
  t.equal(shorten('abc', 1), '…')
  t.equal(shorten('abc', 0), '…', 'a limit below one is one')
})

t.test('safeText: escaped and cut without splitting an escape', async (t) => {
  t.equal(safeText('ok', 10), 'ok')
  t.equal(safeText('a\u001bb', 10), 'a\\x1bb')
  // 'abcdefg' + ESC: the escape (4 characters) does not fit in 10 with the ellipsis.
  const cut = safeText('abcdefg\u001bxyz', 10)
  t.equal(cut, 'abcdefg…')
  t.ok(Array.from(cut).length <= 10)
  t.equal(safeText('\n'.repeat(100), 9), '\\n\\n\\n\\n…')
})

t.test('quote: JSON-like quoting, controls escaped, length capped with quotes included', async (t) => {
  t.equal(quote('web'), '"web"')
  t.equal(quote('say "hi"\\'), '"say \\"hi\\"\\\\"')
  t.equal(quote('web\nDENY'), '"web\\nDENY"')
  t.equal(quote('\u202eevil'), '"\\u202eevil"')
  t.equal(quote('x'.repeat(100), 12), `"${'x'.repeat(9)}…"`)
  t.equal(Array.from(quote('x'.repeat(100), 12)).length, 12)
  // A cut never leaves half of an escape behind.
  for (let n = 0; n < 12; n++) {
    const q = quote(`${'a'.repeat(n)}\u001b\\"${'b'.repeat(20)}`, 14)
    t.ok(Array.from(q).length <= 14, `length with ${n} leading characters`)
    t.notMatch(q.slice(1, -1), /(?<!\\)(\\\\)*\\(x[0-9a-f]?)?…$/, `no partial escape before the ellipsis (${q})`)
  }
})

t.test('bounded: the work depends on the limit, not on the text', async (t) => {
  const huge = `${'\u001b'.repeat(1 << 20)}${'y'.repeat(4 << 20)}`
  // Each call would take seconds if it walked the text; many of them show it does not.
  let longest = 0
  for (let i = 0; i < 2_000; i++) longest = Math.max(longest, quote(huge, 40).length, safeText(huge, 40).length, shorten(huge, 40).length)
  t.ok(longest <= 40, `every answer within 40 characters (${longest})`)
  t.equal(quote(huge, 20), `"${'\\x1b'.repeat(4)}…"`)
})
