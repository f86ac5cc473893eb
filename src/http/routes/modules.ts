/** PUT /modules (raw wasm) and GET /modules/:hash: the content-addressed module store. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { inspect, type ModuleInfo } from '../../engine/prepare.js';
import { formatFuncType } from '../../wasm/module.js';
import type { TieredModuleStore } from '../../store/tiered-store.js';
import { bodyTooLarge, HttpError, moduleTooLarge, storeOr503, unsupportedMediaType } from '../errors.js';
import type { ModuleResolver } from '../module-resolver.js';
import { ERROR_EXAMPLES as E, errorResponse, HashParams, moduleInfoResponse } from '../schemas.js';

export interface ModulesRouteOptions {
  store: TieredModuleStore;
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
    layout: info.layout,
  };
}

const HASH = /^[0-9a-f]{64}$/;

const WASM_TYPES = ['application/wasm', 'application/octet-stream'];

export const modulesRoute: FastifyPluginAsyncTypebox<ModulesRouteOptions> = async (app, { store, resolver, maxModuleBytes }) => {
  const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024; // Fastify's default
  // Raw module bytes, read up to the module size limit (a chunked body over it is refused while streaming).
  const readLimit = Math.min(maxModuleBytes, bodyLimit);
  for (const type of WASM_TYPES) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: readLimit }, (_req, body, done) => done(null, body));
  }

  app.put(
    '/modules',
    {
      bodyLimit: readLimit,
      config: { accepts: WASM_TYPES, moduleLimit: maxModuleBytes },
      // a declared length over a limit is refused before the body is read, naming the limit it is over
      onRequest: async (req) => {
        const declared = req.headers['content-length'];
        const n = declared === undefined || !/^\d+$/.test(declared) ? NaN : Number(declared);
        if (!Number.isSafeInteger(n)) return;
        if (n > bodyLimit) throw bodyTooLarge(bodyLimit, n);
        if (n > maxModuleBytes) throw moduleTooLarge('the module', maxModuleBytes, n);
      },
      schema: {
        summary: 'Store a module (body: the raw wasm bytes, Content-Type application/wasm)',
        description: `The body is the module itself (at most the module size limit, policy.maxModuleBytes: ${maxModuleBytes} bytes), with Content-Type ${WASM_TYPES.join(' or ')}. See docs/API.md.`,
        response: {
          200: moduleInfoResponse('The module was already stored'),
          201: moduleInfoResponse('The module is new: stored'),
          400: errorResponse('An empty body', { kind: 'bad_request', message: 'the body is empty: send the module bytes' }),
          401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
          413: errorResponse('A module over the module size limit (or a body over the body size limit)', E.putTooLarge),
          415: errorResponse('The body is not application/wasm (or application/octet-stream)', E.modulesMediaType),
          422: errorResponse('The module is invalid or breaks the policy', E.invalidModule, E.policyViolation),
          503: errorResponse('The shared store (store.shared) failed: the module is kept on this replica only; retry after `Retry-After` seconds. Or the process is overloaded', E.storePutUnavailable, E.overloaded),
        },
      },
    },
    async (req, reply) => {
      // a JSON body gets here parsed by Fastify's JSON parser
      if (!Buffer.isBuffer(req.body)) throw unsupportedMediaType(req);
      const bytes = new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.length);
      if (bytes.length === 0) throw new HttpError(400, 'bad_request', 'the body is empty: send the module bytes');
      // validate, check policy and compile now, so a bad module is refused at upload
      // (its prepared form persists with it: a restart need not instrument it again)
      const prepared = await resolver.prepareStored(bytes);
      const { created } = await storeOr503(store.put(bytes), 'so the module is kept on this replica only (another would answer 404 for it): retry the upload');
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
        response: {
          200: moduleInfoResponse('The stored module'),
          400: errorResponse('Not a sha256 hex', E.badHash),
          401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
          404: errorResponse('No stored module with that hash', E.moduleNotFound),
          503: errorResponse('Not on this replica and the shared store (store.shared) failed: retry after `Retry-After` seconds. Or the process is overloaded', E.storeGetUnavailable, E.overloaded),
        },
      },
    },
    async (req) => {
      const { hash } = req.params;
      if (!HASH.test(hash)) throw new HttpError(400, 'bad_request', 'a module hash is 64 lowercase hex digits (sha256)');
      const bytes = await storeOr503(store.get(hash), 'and the module is not on this replica: retry later');
      if (!bytes) throw new HttpError(404, 'not_found', `no module with hash ${hash}`);
      return moduleInfoBody(inspect(bytes).info);
    },
  );
};
