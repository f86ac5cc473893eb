/** PUT /modules (raw wasm) and GET /modules/:hash: the content-addressed module store. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { inspect, type ModuleInfo } from '../../engine/prepare.js';
import { formatFuncType } from '../../wasm/module.js';
import type { ModuleStore } from '../../store/module-store.js';
import { HttpError } from '../errors.js';
import type { ModuleResolver } from '../module-resolver.js';
import { ErrorResponse, HashParams, ModuleInfoResponse } from '../schemas.js';

export interface ModulesRouteOptions {
  store: ModuleStore;
  resolver: ModuleResolver;
  maxModuleBytes: number;
}

export function moduleInfoBody(info: ModuleInfo) {
  return {
    hash: info.hash,
    bytes: info.bytes,
    imports: info.imports.map((i) => ({ module: i.module, name: i.name, kind: i.kind, ...(i.type ? { type: formatFuncType(i.type) } : {}) })),
    exports: info.exports.map((e) => ({ name: e.name, kind: e.kind, ...(e.type ? { type: formatFuncType(e.type) } : {}) })),
    memoryPages: info.memoryPages,
    ffi: info.ffi,
  };
}

const HASH = /^[0-9a-f]{64}$/;

export const modulesRoute: FastifyPluginAsyncTypebox<ModulesRouteOptions> = async (app, { store, resolver, maxModuleBytes }) => {
  // Raw module bytes; bodies over the module size limit are refused with 413 while streaming.
  for (const type of ['application/wasm', 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: maxModuleBytes }, (_req, body, done) => done(null, body));
  }

  app.put(
    '/modules',
    {
      schema: {
        summary: 'Store a module (body: the raw wasm bytes, Content-Type application/wasm)',
        response: { 200: ModuleInfoResponse, 201: ModuleInfoResponse, 400: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, 422: ErrorResponse },
      },
    },
    async (req, reply) => {
      if (!Buffer.isBuffer(req.body)) throw new HttpError(415, 'unsupported_media_type', 'send the module as raw bytes with Content-Type: application/wasm');
      const bytes = new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.length);
      if (bytes.length === 0) throw new HttpError(400, 'bad_request', 'the body is empty: send the module bytes');
      // validate, check policy and compile now, so a bad module is refused at upload
      const prepared = resolver.prepareBytes(bytes);
      const { created } = await store.put(bytes);
      req.log.info({ hash: prepared.info.hash, bytes: bytes.length, created }, 'module stored');
      return reply.status(created ? 201 : 200).send(moduleInfoBody(prepared.info));
    },
  );

  app.get(
    '/modules/:hash',
    {
      schema: {
        summary: 'Describe a stored module',
        params: HashParams,
        response: { 200: ModuleInfoResponse, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (req) => {
      const { hash } = req.params;
      if (!HASH.test(hash)) throw new HttpError(400, 'bad_request', 'a module hash is 64 lowercase hex digits (sha256)');
      const bytes = await store.get(hash);
      if (!bytes) throw new HttpError(404, 'not_found', `no module with hash ${hash}`);
      return moduleInfoBody(inspect(bytes).info);
    },
  );
};
