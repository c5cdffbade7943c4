// An example application: a small bookshop API with fastify-anonymous-telemetry wired the way a maintainer would ship it.
//
//   node examples/server.mjs                   dry run: every event is logged, nothing is sent
//   TELEMETRY_WRITE_KEY=... node examples/server.mjs   reports to Segment
//
// `npm run demo` runs it against a local collector instead; `npm run docs` documents what it sends.
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
// The package imports itself by name (`exports` self-reference), exactly as an application would.
import fastifyTelemetry from 'fastify-anonymous-telemetry'

/**
 * The paths this application agrees to publish. Every route is counted under the longest of these that prefixes
 * its template (`/books/:isbn` -> `/books`), anything else under `/`; nothing else can ever appear in a report.
 */
export const ENDPOINTS = ['/books', '/authors', '/orders']

/** The header the health route wants, so that its traffic figures are not public. */
export const HEALTH_TOKEN_HEADER = 'x-health-token'

const BOOKS = [
  { isbn: '9780262510875', title: 'Structure and Interpretation of Computer Programs', authorId: 'abelson', price: 52 },
  { isbn: '9780201633610', title: 'Design Patterns', authorId: 'gamma', price: 48 },
  { isbn: '9780131103627', title: 'The C Programming Language', authorId: 'kernighan', price: 61 },
  { isbn: '9781593279509', title: 'Eloquent JavaScript', authorId: 'haverbeke', price: 33 }
]

export const KNOWN_ISBNS = BOOKS.map(book => book.isbn)
export const KNOWN_AUTHORS = [...new Set(BOOKS.map(book => book.authorId))]

const orderBody = {
  type: 'object',
  required: ['isbn', 'quantity'],
  additionalProperties: false,
  properties: {
    isbn: { type: 'string', minLength: 10 },
    quantity: { type: 'integer', minimum: 1, maximum: 10 }
  }
}

/**
 * Builds the bookshop. `telemetry` holds the plugin options that depend on where it runs (write key, collector,
 * intervals); `healthToken` protects `GET /health`.
 */
export async function buildServer ({ telemetry, healthToken, logger = false }) {
  const app = Fastify({ logger })
  const orders = new Map()

  await app.register(fastifyTelemetry, {
    issuerUrl: 'https://bookshop.example.com/',
    endpoints: ENDPOINTS,
    version: '1.4.2',
    hash: '3f9c2ab',
    buildTime: '2026-01-15T09:30:00Z',
    // Which storage backend and how many orders: literals only, so nothing about the shop's data can leave.
    features: { facts: { storage: ['memory', 'postgres'] }, counters: ['orders.created'] },
    health: {
      metrics: true,
      onRequest: async (request, reply) => {
        if (request.headers[HEALTH_TOKEN_HEADER] !== healthToken) return reply.code(401).send({ error: 'token required' })
      }
    },
    ...telemetry
  })
  app.telemetry.fact('storage', 'memory')
  const ordersCreated = app.telemetry.counter('orders.created')

  app.get('/', async () => ({ name: 'bookshop', books: '/books', orders: '/orders' }))
  app.get('/books', async () => BOOKS.map(({ isbn, title }) => ({ isbn, title })))
  app.get('/books/:isbn', async (request, reply) => {
    const book = BOOKS.find(candidate => candidate.isbn === request.params.isbn)
    return book ?? reply.code(404).send({ error: 'no such book' })
  })
  app.get('/authors/:authorId/books', async request => {
    return BOOKS.filter(book => book.authorId === request.params.authorId).map(({ isbn, title }) => ({ isbn, title }))
  })
  app.post('/orders', { schema: { body: orderBody } }, async (request, reply) => {
    const book = BOOKS.find(candidate => candidate.isbn === request.body.isbn)
    if (book === undefined) return reply.code(422).send({ error: 'no such book' })
    const order = { id: String(orders.size + 1), isbn: book.isbn, quantity: request.body.quantity, total: book.price * request.body.quantity }
    orders.set(order.id, order)
    ordersCreated.inc()
    return reply.code(201).send(order)
  })
  app.get('/orders/:orderId', async (request, reply) => {
    return orders.get(request.params.orderId) ?? reply.code(404).send({ error: 'no such order' })
  })
  // Operator-only; `telemetry: false` keeps it out of every report, even out of `/`.
  app.get('/internal/cache', { config: { telemetry: false } }, async () => ({ entries: orders.size }))

  return app
}

// Run directly: a real deployment. Without a write key it only logs what it would send.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const writeKey = process.env.TELEMETRY_WRITE_KEY
  const app = await buildServer({
    logger: true,
    healthToken: process.env.HEALTH_TOKEN ?? 'change-me',
    telemetry: writeKey === undefined ? { dryRun: true } : { writeKey }
  })
  await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3000) })
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close())
}
