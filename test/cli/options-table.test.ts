/**
 * The README's table of every command's options is the one generated from the commands'
 * commander specs (npm run docs): a changed option, value list, default or older spelling
 * makes this test fail until the README is regenerated.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { BEGIN, END, optionsTable, replaceTable, splitDefault } from '../../scripts/cli-options-table.js'
import { COMMANDS, loadAllCommands } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const README = new URL('../../README.md', import.meta.url).pathname

t.test('README.md holds the generated options table (npm run docs)', async (t) => {
  const readme = readFileSync(README, 'utf8')
  const table = await optionsTable()
  const start = readme.indexOf(BEGIN)
  const end = readme.indexOf(END)
  t.ok(start >= 0 && end > start, 'the README has the generated block')
  t.equal(readme.slice(start, end + END.length), table, 'the options table is fresh; run npm run docs')
  t.equal(replaceTable(readme, table), readme)
})

t.test('the table lists every visible option of every command, with its values and older spellings', async (t) => {
  const table = await optionsTable()
  for (const c of COMMANDS) t.match(table, new RegExp(`^#### \`${c.name}[ \`]`, 'm'), `${c.name} has a section`)
  for (const cmd of await loadAllCommands(memoryIO())) {
    const section = table.slice(table.indexOf(`#### \`${cmd.name()}`)).split('\n#### ')[0] ?? ''
    for (const o of cmd.options) {
      if (o.hidden || o.long === undefined) continue
      t.match(section, `| \`${o.long}\` |`, `${cmd.name()} ${o.long}`)
    }
    for (const o of cmd.options.filter((x) => x.hidden)) t.notMatch(section, `| \`${o.long}\` |`, `${cmd.name()}: hidden ${o.long} is no row of its own`)
  }
  t.match(table, '| `--output` | `-o` | `text\\|json\\|yaml\\|sarif\\|junit', 'check -o lists its formats')
  t.match(table, '`--format FORMAT`', '--format is named as the older spelling of -o')
  t.match(table, '| `--filename` | `-f` | `PATH` |  | `--file PATH` |', "explain's older --file")
  t.match(table, '| `--output-file` |  | `FILE` |  | `-o FILE` |', "snapshot's older -o FILE")
  t.match(table, '`--no-color` (= never)')
  t.match(table, '| `--fail-on` |  | `deny\\|warn\\|info\\|never` | `deny` |')
})

t.test('defaults are read from the help text', async (t) => {
  t.same(splitDefault('port to listen on (default 8443)'), { meaning: 'port to listen on', default: '8443' })
  t.same(splitDefault('budget (default 2500ms; keep it below X)'), { meaning: 'budget (keep it below X)', default: '2500ms' })
  t.same(splitDefault('no default here'), { meaning: 'no default here' })
})
