// The HTML report in a real headless Chromium (Debian's chromium, driven by playwright-core;
// nothing downloads a browser): the page renders the report's numbers, sorts, pages and opens
// a workload's findings and failing pods. A screenshot is saved in the test's directory.
import t from 'tap'
import { access, constants, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { RULES } from '../../src/rules/index.js'
import { memoryIO } from '../../src/cli/io.js'
import { auditCommand } from '../../src/audit/command.js'
import { runAudit, type AuditReport } from '../../src/audit/audit.js'
import { formatAuditHtml } from '../../src/audit/html.js'
import { readClusterFiles } from '../../src/audit/sources.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'

t.setTimeout(300_000)

/** Debian's chromium; POD_PREFLIGHT_CHROMIUM names another binary. .ci/run installs it. */
export async function findChromium(): Promise<string> {
  const candidates = [process.env['POD_PREFLIGHT_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => c !== undefined && c !== '')
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK)
      return c
    } catch {
      // next
    }
  }
  throw new Error(`no Chromium found (tried ${candidates.join(', ')}): apt-get install chromium, or set POD_PREFLIGHT_CHROMIUM`)
}

const NOW = new Date('2026-01-01T10:05:00Z')

/** The fixture cluster plus 120 synthetic Deployments in 7 namespaces, so that the table pages. */
async function buildReport(): Promise<AuditReport> {
  const input = await readClusterFiles(['test/fixtures/audit/cluster.yaml'], { cwd: process.cwd(), stdin: process.stdin })
  const extra: unknown[] = []
  for (let i = 0; i < 120; i++) {
    const jvm = i % 5 === 0
    extra.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `svc-${String(i).padStart(3, '0')}`, namespace: `team-${i % 7}`, uid: `d-${i}` },
      spec: {
        selector: { matchLabels: { app: `svc-${i}` } },
        template: {
          metadata: { labels: { app: `svc-${i}` } },
          spec: {
            containers: [
              {
                name: 'app',
                image: i % 3 === 0 ? 'nginx' : 'nginx:1.27',
                ...(jvm ? { command: ['java', '-Xmx1g', '-jar', '/app.jar'] } : {}),
                resources: { limits: { memory: jvm ? '512Mi' : '128Mi' }, requests: { memory: jvm ? '512Mi' : '128Mi', cpu: '10m' } },
              },
            ],
          },
        },
      },
    })
  }
  const policy = await loadDefaultPolicy(RULES)
  return runAudit([...input.objects, ...extra], { policy, rules: RULES, cluster: input.view, events: input.events, source: 'test cluster', now: NOW })
}

t.test('the HTML report renders the JSON report faithfully in Chromium', async (t) => {
  const executablePath = await findChromium()
  const report = await buildReport()
  // Kept after the run (tap's testdir is removed unless saved), for a person to look at.
  t.saveFixture = process.env['POD_PREFLIGHT_KEEP_SCREENSHOT'] === '1'
  const dir = t.testdir({})
  const file = join(dir, 'audit.html')
  await writeFile(file, formatAuditHtml(report))

  const browser: Browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 120_000 })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const requests: string[] = []
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url())
  })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(pathToFileURL(file).href)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 })
  t.same(errors, [], 'the script runs without errors')
  t.same(requests, [], 'the page loads nothing from the network')

  const s = report.summary
  const text = async (sel: string): Promise<string> => ((await page.textContent(sel)) ?? '').trim()
  t.equal(await text('[data-testid=total-workloads]'), String(s.workloads), 'workloads total equals the JSON report')
  t.equal(await text('[data-testid=workloads-deny]'), String(s.workloadsBy.deny))
  t.equal(await text('[data-testid=workloads-warn]'), String(s.workloadsBy.warn))
  t.equal(await text('[data-testid=workloads-clean]'), String(s.workloadsBy.clean))
  t.equal(await text('[data-testid=findings-deny]'), String(s.findings.deny))
  t.equal(await text('[data-testid=findings-warn]'), String(s.findings.warn))
  t.equal(await text('[data-testid=failing-pods]'), String(s.failingPods))
  t.equal(await text('[data-testid=shown]'), `Showing 1\u201350 of ${s.workloads}`, 'the table pages through every workload')
  t.equal(await page.locator('#workloads tbody tr.workload').count(), 50, 'one page of rows is drawn')

  // Chart: one bar per rule (up to the cap), each with its total.
  const ruleBars = await page.$$eval('#chart-rules g.bar', (gs) => gs.map((g) => [g.getAttribute('data-label'), Number(g.getAttribute('data-total'))]))
  const expectedRules = Object.entries(s.byRule).map(([r, c]) => [r, c.deny + c.warn + c.info])
  t.equal(ruleBars.length, Math.min(expectedRules.length, 25))
  for (const [rule, total] of expectedRules.slice(0, 24)) t.ok(ruleBars.some(([l, n]) => l === rule && n === total), `bar for ${rule} shows ${total}`)
  t.ok((await page.$$('#chart-namespaces g.bar')).length > 0, 'a chart per namespace')

  // Sorting: by name ascending, then by deny count descending and ascending.
  const column = (i: number) => page.$$eval(`#workloads tbody tr.workload td:nth-child(${i})`, (tds) => tds.map((td) => td.textContent ?? ''))
  await page.click('#workloads th[data-key=n]')
  const names = await column(3)
  t.same(names, [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'sorted by name, ascending')
  t.equal(await page.getAttribute('#workloads th[data-key=n]', 'aria-sort'), 'ascending')
  await page.click('#workloads th[data-key=d]')
  const denyDesc = (await column(4)).map(Number)
  t.same(denyDesc, [...denyDesc].sort((a, b) => b - a), 'sorted by deny, descending')
  t.equal(denyDesc[0], Math.max(...report.workloads.map((w) => w.findings.filter((f) => f.action === 'deny').length)))
  await page.click('#workloads th[data-key=d]')
  const denyAsc = (await column(4)).map(Number)
  t.same(denyAsc, [...denyAsc].sort((a, b) => a - b), 'a second click sorts ascending')

  // Filter and open a workload: findings with message, fix and path, and failing pods.
  await page.fill('#filter', 'shop/billing')
  t.equal(await text('[data-testid=shown]'), 'Showing 1\u20131 of 1')
  await page.click('#workloads tbody tr.workload')
  const detail = await text('#workloads tbody tr.detail')
  t.match(detail, /3 pods oom-killed; jvm-heap-exceeds-memory-limit would have denied this/)
  t.match(detail, /spec\.template\.spec\.containers\[0\]\.command\[1\]/, 'the field path')
  t.match(detail, /fix: lower the heap/, 'the fix')
  t.match(detail, /Failing pods/)
  t.match(detail, /billing-7d9f-a \(Running\)/)

  // Paging.
  await page.fill('#filter', '')
  await page.click('#next')
  t.equal(await text('[data-testid=shown]'), `Showing 51\u2013100 of ${s.workloads}`)

  // The billing row is still open from above.
  await page.fill('#filter', 'shop/billing')
  await page.screenshot({ path: join(dir, 'audit.png'), fullPage: true })
  await access(join(dir, 'audit.png'))
})

t.test('the file the CLI writes is the one the browser reads', async (t) => {
  const io = memoryIO('', {}, process.cwd())
  await auditCommand({ rules: RULES, format: 'html', failOn: 'never', color: false, showInfo: false, progress: false, clusterState: ['test/fixtures/audit/cluster.yaml'], now: NOW }, io)
  t.match(io.out(), /<script type="application\/json" id="audit-data">/)
  t.notMatch(io.out(), /<script[^>]+src=/, 'no external script')
  t.notMatch(io.out(), /<link[^>]+href=/, 'no external stylesheet')
})
