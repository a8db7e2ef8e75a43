import { ConfigError, type Config } from '../../config/options.js';
import { Authenticator } from './authenticator.js';
import { checkAuthPolicy } from './policy.js';
import { loadTokensFile } from './tokens-file.js';

/** The node's authenticator, or a ConfigError (exit 2) for a bad tokens file or an open non-loopback address. */
export async function authenticatorFromConfig(config: Pick<Config, 'host' | 'tokensFile' | 'insecureNoAuth'>): Promise<Authenticator> {
  const policy = checkAuthPolicy({ host: config.host, tokensConfigured: config.tokensFile !== null, insecureNoAuth: config.insecureNoAuth });
  if ('error' in policy) throw new ConfigError(policy.error);
  if (!policy.authEnabled || config.tokensFile === null) return Authenticator.disabled();
  return Authenticator.fromTokens(await loadTokensFile(config.tokensFile));
}
