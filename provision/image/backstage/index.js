'use strict';

// Backstage backend for lab (new backend system, plain CommonJS, no build step).
// Started by docker-entrypoint.sh with --config flags: /app/app-config.yaml, then /config/*.yaml in sorted order.

const fs = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { createBackend } = require('@backstage/backend-defaults');
const { coreServices, createBackendModule } = require('@backstage/backend-plugin-api');
const { catalogLocationsExtensionPoint } = require('@backstage/plugin-catalog-node');
const { authProvidersExtensionPoint, createProxyAuthProviderFactory, createProxyAuthenticator } = require('@backstage/plugin-auth-node');
const { parseEntityRef, stringifyEntityRef } = require('@backstage/catalog-model');
const { InputError, NotAllowedError } = require('@backstage/errors');
const { DirectoryPreparer, techdocsPreparerExtensionPoint } = require('@backstage/plugin-techdocs-node');

// Lets POST /api/catalog/locations register locations of type "file" (the default allows only "url"):
// labs register files from the read-only /workspace and /fixtures mounts. There is no config key for this.
const catalogModuleLabLocationTypes = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'lab-location-types',
  register(reg) {
    reg.registerInit({
      deps: { locations: catalogLocationsExtensionPoint },
      async init({ locations }) {
        locations.setAllowedLocationTypes(['url', 'file']);
      },
    });
  },
});

// TechDocs' stock "dir" preparer hands the entity's own directory to the generator, which then rewrites
// mkdocs.yml in place: that fails with EROFS on the read-only /workspace and /fixtures mounts (and would modify
// the learner's files). This preparer builds from a private, writable copy instead and cleans it up afterwards.
const SKIP_DIRS = new Set(['.git', 'node_modules']);

async function makeOwnerWritable(dir) {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await makeOwnerWritable(p);
    } else if (entry.isFile()) {
      await fs.chmod(p, 0o644);
    }
  }
}

// TechDocs re-checks an entity's docs at most once a minute (a hard-coded, in-memory throttle), so a learner's
// edit would stay invisible to `lab check` for up to 60 s. lab.techdocs.rebuildAfterSeconds (default 0) replaces
// that interval. This reaches into a private module of the pinned plugin version; if it moves, we only warn.
function setTechdocsRebuildInterval(seconds, logger) {
  try {
    const entry = require.resolve('@backstage/plugin-techdocs-backend');
    const storage = require(path.join(path.dirname(entry), 'DocsBuilder', 'BuildMetadataStorage.cjs.js'));
    if (typeof storage.shouldCheckForUpdate !== 'function' || typeof storage.BuildMetadataStorage !== 'function') {
      throw new Error('unexpected module shape');
    }
    storage.shouldCheckForUpdate = entityUid => {
      const last = new storage.BuildMetadataStorage(entityUid).getLastUpdated();
      return !last || Date.now() - last >= seconds * 1000;
    };
  } catch (error) {
    logger.warn(`Could not change the TechDocs rebuild interval, keeping 60 s: ${error}`);
  }
}

const techdocsModuleLabDirPreparer = createBackendModule({
  pluginId: 'techdocs',
  moduleId: 'lab-dir-preparer',
  register(reg) {
    reg.registerInit({
      deps: {
        preparers: techdocsPreparerExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        urlReader: coreServices.urlReader,
      },
      async init({ preparers, config, logger, urlReader }) {
        setTechdocsRebuildInterval(config.getOptionalNumber('lab.techdocs.rebuildAfterSeconds') ?? 0, logger);
        const stock = DirectoryPreparer.fromConfig(config, { logger, reader: urlReader });
        const tmp = path.resolve(os.tmpdir()) + path.sep;
        preparers.registerPreparer('dir', {
          shouldCleanPreparedDirectory: () => true,
          async prepare(entity, options) {
            const prepared = await stock.prepare(entity, options);
            if (path.resolve(prepared.preparedDir).startsWith(tmp)) {
              return prepared; // already a temporary tree (url-based location)
            }
            const copy = await fs.mkdtemp(path.join(os.tmpdir(), 'lab-techdocs-'));
            try {
              await fs.cp(prepared.preparedDir, copy, {
                recursive: true,
                filter: src => !SKIP_DIRS.has(path.basename(src)),
              });
              await makeOwnerWritable(copy);
            } catch (error) {
              await fs.rm(copy, { recursive: true, force: true });
              throw error;
            }
            return { preparedDir: copy, etag: prepared.etag };
          },
        });
      },
    });
  },
});

// Checker sign-in: `lab check` needs a user token for permission checks (POST /api/permission/authorize
// refuses service credentials). GET /api/auth/lab-checker/refresh with the session's static token
// (Authorization: Bearer $LAB_TOKEN) and `X-Lab-User: user:default/alice` returns a Backstage token for that
// catalog user (404 NotFoundError "User not found" when the catalog has no such user). Any other caller,
// user tokens and plugin tokens included, is refused: only the external-access subject named in
// auth.providers.lab-checker.serviceSubject may use it. The port is bound to 127.0.0.1 anyway.
const USER_HEADER = 'x-lab-user';

function checkerAuthenticator(httpAuth) {
  return createProxyAuthenticator({
    defaultProfileTransform: async () => ({ profile: {} }),
    initialize({ config }) {
      return { subject: config.getString('serviceSubject') };
    },
    async authenticate({ req }, { subject }) {
      const credentials = await httpAuth.credentials(req, { allow: ['service'] });
      if (credentials.principal.subject !== subject) {
        throw new NotAllowedError('The lab-checker sign-in is only for the lab checker');
      }
      const header = req.get(USER_HEADER);
      if (!header) {
        throw new InputError(`Missing ${USER_HEADER} header: the catalog user to sign in as`);
      }
      let ref;
      try {
        ref = parseEntityRef(header, { defaultKind: 'user', defaultNamespace: 'default' });
      } catch (error) {
        throw new InputError(`Invalid ${USER_HEADER} header: ${error.message}`);
      }
      if (ref.kind.toLowerCase() !== 'user') {
        throw new InputError(`Only users sign in, not ${stringifyEntityRef(ref)}`);
      }
      return { result: { userRef: stringifyEntityRef(ref) } };
    },
  });
}

const authModuleLabChecker = createBackendModule({
  pluginId: 'auth',
  moduleId: 'lab-checker-provider',
  register(reg) {
    reg.registerInit({
      deps: { providers: authProvidersExtensionPoint, httpAuth: coreServices.httpAuth },
      async init({ providers, httpAuth }) {
        providers.registerProvider({
          providerId: 'lab-checker',
          factory: createProxyAuthProviderFactory({
            authenticator: checkerAuthenticator(httpAuth),
            // Issues a token with the user's ownership claims (the user and its groups), as a real sign-in would.
            signInResolver: async ({ result }, ctx) => ctx.signInWithCatalogUser({ entityRef: result.userRef }),
          }),
        });
      },
    });
  },
});

const backend = createBackend();

backend.add(require('@backstage/plugin-auth-backend').default);
backend.add(require('@backstage/plugin-auth-backend-module-guest-provider').default);
backend.add(authModuleLabChecker);

backend.add(require('@backstage/plugin-permission-backend').default);
backend.add(require('@backstage/plugin-permission-backend-module-allow-all-policy').default);

backend.add(require('@backstage/plugin-catalog-backend').default);
backend.add(require('@backstage/plugin-catalog-backend-module-scaffolder-entity-model').default);
backend.add(require('@backstage/plugin-catalog-backend-module-unprocessed').default);
backend.add(catalogModuleLabLocationTypes);

backend.add(require('@backstage/plugin-scaffolder-backend').default);

backend.add(require('@backstage/plugin-techdocs-backend').default);
backend.add(techdocsModuleLabDirPreparer);

backend.add(require('@backstage/plugin-events-backend').default);
backend.add(require('@backstage/plugin-proxy-backend').default);

// Serves the UI built from app/ (copied to node_modules/app at image build) on the same port as the API.
backend.add(require('@backstage/plugin-app-backend').default);

backend.start();
