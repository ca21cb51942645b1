// DATABASE_URL for PostgreSQL and DATABASE_POOL_SIZE: accepted, validated with errors that name
// the fix, and the URL's password among the secrets the logs and streams never show.
import { describe, expect, it } from '@jest/globals';
import { loadConfig, secretsOf } from '../../services/config.ts';
import { ConfigError } from '../../services/errors.ts';

const LIVE = {
  PAGE_ACCESS_TOKEN: 'EAAlivePageToken0123456789',
  APP_SECRET: 'live-app-secret-0123456789',
  VERIFY_TOKEN: 'live-verify-token-0123456789',
  PAGE_ID: '1234567890',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...LIVE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('DATABASE_URL for PostgreSQL', () => {
  it.each(['postgres://bot:pw@db.internal:5432/bot', 'postgresql://bot@10.0.0.5/bot?sslmode=require', 'postgres:///bot?host=/var/run/postgresql'])('accepts %s', (url) => {
    expect(loadConfig({ ...LIVE, DATABASE_URL: url }).DATABASE_URL).toBe(url);
  });

  it('refuses a malformed PostgreSQL URL without echoing it (it may hold the password)', () => {
    const err = configError({ DATABASE_URL: 'postgres://bot:p@ss:word@db:notaport/bot' });
    expect(err.variable).toBe('DATABASE_URL');
    expect(err.message).not.toContain('p@ss');
    expect(err.message).toMatch(/percent-encode/);
  });

  it('names the supported stores for anything else, masking credentials', () => {
    const err = configError({ DATABASE_URL: 'mysql://bot:hunter22@db/bot' });
    expect(err.message).toContain('"mysql://***@db/bot" is not a supported store');
    expect(err.message).not.toContain('hunter22');
    expect(err.message).toContain('postgres://USER:PASSWORD@HOST:5432/DATABASE');
  });
});

describe('DATABASE_POOL_SIZE', () => {
  it('defaults to 10 and takes 1 to 100', () => {
    expect(loadConfig(LIVE).DATABASE_POOL_SIZE).toBe(10);
    expect(loadConfig({ ...LIVE, DATABASE_POOL_SIZE: '1' }).DATABASE_POOL_SIZE).toBe(1);
    expect(loadConfig({ ...LIVE, DATABASE_POOL_SIZE: '100' }).DATABASE_POOL_SIZE).toBe(100);
  });

  it.each(['0', '101', '2.5', 'ten', '-3'])('refuses %j with the fix', (value) => {
    const err = configError({ DATABASE_POOL_SIZE: value });
    expect(err.variable).toBe('DATABASE_POOL_SIZE');
    expect(err.message).toContain('Fix: ');
  });
});

describe('secretsOf and the database password', () => {
  it('includes the password as written and as decoded, and a password= option', () => {
    const secrets = secretsOf(loadConfig({ ...LIVE, DATABASE_URL: 'postgres://bot:s%40fe-pass%2Fword@db/bot?password=other-secret' }));
    expect(secrets).toEqual(expect.arrayContaining(['s%40fe-pass%2Fword', 's@fe-pass/word', 'other-secret']));
  });

  it('adds nothing without a password, or for SQLite', () => {
    expect(secretsOf(loadConfig({ ...LIVE, DATABASE_URL: 'postgres://bot@db/bot' }))).toHaveLength(3);
    expect(secretsOf(loadConfig({ ...LIVE, DATABASE_URL: 'sqlite:./data/bot.db' }))).toHaveLength(3);
  });
});
