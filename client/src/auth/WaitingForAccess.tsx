/**
 * What a person a Microsoft sign-in created without access sees on every view: that they wait for an admin,
 * rather than empty pages with no reason given. Admins see them on the Sign-ins page.
 */
import { useQuery } from '@apollo/client/react';
import { MyAccessWaitDocument } from '../graphql/generated';

export function WaitingForAccess() {
  const { data } = useQuery(MyAccessWaitDocument, { fetchPolicy: 'cache-and-network' });
  if (!data?.me.awaitingAccess) return null;
  return (
    <p className="banner info" role="status" data-testid="awaiting-access">
      You are signed in, but you have no access yet: an administrator has been shown that you are waiting, and will
      give you a role. Reload this page once they have.
    </p>
  );
}
