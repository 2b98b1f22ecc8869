import { describe, expect, it } from 'vitest';
import { UserInputError } from '@/lib/users/tenant';
import { registrationFromForm } from './form';

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries({ name: 'drive', transport: 'streamable_http', url: 'https://mcp.example.com/mcp', ...fields })) data.set(name, value);
  return data;
}

describe('the dashboard registration form’s upstream auth', () => {
  it('reads none, a static secret, or sign-in by each person with its optional client', () => {
    expect(registrationFromForm(form({}))).toMatchObject({ upstreamAuth: { type: 'none' } });
    expect(registrationFromForm(form({ secret: 'sk-123456', secretHeader: 'X-Api-Key' }))).toMatchObject({ upstreamAuth: { type: 'static_secret', secret: 'sk-123456', header: 'X-Api-Key' } });
    expect(registrationFromForm(form({ oauthUser: 'on' }))).toMatchObject({ upstreamAuth: { type: 'oauth_user' } });
    expect(registrationFromForm(form({ oauthUser: 'on', oauthClientId: 'gatehouse', oauthClientSecret: 'cs-abcdef', oauthScope: 'files:read' }))).toMatchObject({
      upstreamAuth: { type: 'oauth_user', clientId: 'gatehouse', clientSecret: 'cs-abcdef', scope: 'files:read' },
    });
  });

  it('refuses mixed or incomplete choices', () => {
    expect(() => registrationFromForm(form({ oauthUser: 'on', secret: 'sk-123456' }))).toThrow(new UserInputError('choose an upstream secret or sign-in by each person, not both'));
    expect(() => registrationFromForm(form({ oauthUser: 'on', oauthClientSecret: 'cs-abcdef' }))).toThrow('needs its client id');
    expect(() => registrationFromForm(form({ oauthClientId: 'gatehouse' }))).toThrow('tick that box');
  });
});
