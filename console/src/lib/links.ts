// Links into the H5 livestream page: an invite (private rooms) or an associate's share link.

export interface LinkTarget {
  brand: string;
  room: string;
  invite?: string;
  share?: string;
}

/** The H5 page's URL for a room, under the console's base (…/console/#/h5?...). */
export function h5Link(base: string, target: LinkTarget): string {
  const q = new URLSearchParams({ brand: target.brand, room: target.room });
  if (target.invite) q.set('invite', target.invite);
  if (target.share) q.set('share', target.share);
  return `${base.replace(/#.*$/, '')}#/h5?${q.toString()}`;
}

/** The console's base URL from the page's location (origin + /console/). */
export function consoleBase(loc: { origin: string; pathname: string }): string {
  const i = loc.pathname.indexOf('/console/');
  return loc.origin + (i >= 0 ? loc.pathname.slice(0, i + '/console/'.length) : '/console/');
}
