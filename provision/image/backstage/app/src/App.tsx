// lab's Backstage UI: the new frontend system with the plugins a CBA learner meets, signed in without a
// login dance (the guest provider, enabled on the loopback-only lab backend).
import { createApp } from '@backstage/frontend-defaults';
import { ApiBlueprint, createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { searchApiRef } from '@backstage/plugin-search-react';
import { ProxiedSignInPage } from '@backstage/core-components';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import catalogGraphPlugin from '@backstage/plugin-catalog-graph/alpha';
import apiDocsPlugin from '@backstage/plugin-api-docs/alpha';
import orgPlugin from '@backstage/plugin-org/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import techdocsPlugin from '@backstage/plugin-techdocs/alpha';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';

// Replaces the app's default sign-in page (a guest card to click) with one that signs in at once: the
// guest provider issues a token for auth.providers.guest.userEntityRef (a lab may name one of its users).
const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => props => <ProxiedSignInPage {...props} provider="guest" />,
  },
});

// The lab backend has no search plugin, but the TechDocs reader's search box needs a search API: this one
// finds nothing.
const noSearchApi = ApiBlueprint.make({
  name: 'search',
  params: defineParams =>
    defineParams({
      api: searchApiRef,
      deps: {},
      factory: () => ({ query: async () => ({ results: [], numberOfResults: 0 }) }),
    }),
});

export default createApp({
  features: [
    catalogPlugin,
    catalogGraphPlugin,
    apiDocsPlugin,
    orgPlugin,
    scaffolderPlugin,
    techdocsPlugin,
    userSettingsPlugin,
    createFrontendModule({ pluginId: 'app', extensions: [signInPage, noSearchApi] }),
  ],
});
