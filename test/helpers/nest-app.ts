import 'reflect-metadata'
import {
  type ArgumentsHost, type CanActivate, Catch, Controller, Delete, type ExceptionFilter, Get, Inject, Module, Param,
  Query, UseGuards, type VersioningOptions, VersioningType
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import type { FastifyReply } from 'fastify'
import fastifyTelemetry, { type TelemetryOptions } from '../../lib/index'

// A small NestJS 12 app as its users write one, on @nestjs/platform-fastify. Nothing here relies on
// `emitDecoratorMetadata`: the one injected dependency names its token with `@Inject`.

/** A domain error that the app's exception filter, not Nest, turns into a response. */
class ClientLocked extends Error {}

const CLIENTS = 'CLIENTS'

interface ClientStore {
  names: string[]
}

@Controller({ path: 'clients', version: '1' })
class ClientsController {
  constructor (@Inject(CLIENTS) private readonly store: ClientStore) {}

  @Get()
  list (@Query('page') page?: string): object {
    return { clients: this.store.names, page: page ?? null }
  }

  @Get(':id')
  one (@Param('id') id: string): object {
    return { id }
  }

  @Delete(':id')
  remove (): never {
    throw new ClientLocked('clients cannot be deleted while they hold tokens')
  }
}

@Controller({ path: 'clients', version: '2' })
class ClientsV2Controller {
  @Get(':id')
  one (@Param('id') id: string): object {
    return { client: { id, version: 2 } }
  }
}

/** Refuses everyone: Nest answers 403. */
class Closed implements CanActivate {
  canActivate (): boolean {
    return false
  }
}

@Controller('admin')
@UseGuards(Closed)
class AdminController {
  @Get('settings')
  settings (): object {
    return { settings: {} }
  }
}

@Catch(ClientLocked)
class ClientLockedFilter implements ExceptionFilter {
  catch (error: ClientLocked, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<FastifyReply>().status(409).send({ error: 'locked', message: error.message })
  }
}

@Module({
  controllers: [ClientsController, ClientsV2Controller, AdminController],
  providers: [{ provide: CLIENTS, useValue: { names: ['web', 'cli'] } }]
})
class AppModule {}

export interface NestAppOptions {
  /** The plugin's options; without them the plugin is not registered (the baseline app). */
  telemetry?: TelemetryOptions
  versioning?: VersioningOptions
  cors?: boolean
}

/**
 * The app under `/api`, versioned in the URI (`/api/v1/...`, `/api/v2/...`, v1 by default) unless `versioning` says
 * otherwise, with the default `FastifyAdapter` (Fastify's logger off) and Nest's logger off. The plugin is
 * registered as NestJS documents Fastify plugins, before `init()`; the app is not yet listening.
 */
export async function nestApp ({ telemetry, versioning, cors = false }: NestAppOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: false })
  if (telemetry !== undefined) await app.register(fastifyTelemetry, telemetry)
  app.setGlobalPrefix('api')
  app.enableVersioning(versioning ?? { type: VersioningType.URI, defaultVersion: '1' })
  app.useGlobalFilters(new ClientLockedFilter())
  if (cors) app.enableCors({ origin: 'https://app.example.com' })
  await app.init()
  return app
}
