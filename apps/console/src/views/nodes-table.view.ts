import type { NodeView } from '@meshgate/contracts';
import { api, ApiError } from '../api-client';
import { field, h, when } from '../dom';
import type { View } from './view';

type Column = { key: string; label: string; value: (n: NodeView) => string };

const COLUMNS: Column[] = [
  { key: 'name', label: 'Name', value: (n) => n.name },
  { key: 'address', label: 'Address', value: (n) => n.address },
  { key: 'status', label: 'Status', value: (n) => n.status + (n.keyExpired ? ' (key expired)' : '') },
  { key: 'tags', label: 'Tags', value: (n) => n.tags.join(' ') },
  { key: 'endpoint', label: 'Endpoint', value: (n) => n.endpoint ?? '' },
  { key: 'lastSeenAt', label: 'Last seen', value: (n) => n.lastSeenAt ?? '' },
  { key: 'keyExpiresAt', label: 'Key expires', value: (n) => n.keyExpiryDisabled ? 'never' : n.keyExpiresAt ?? '' },
];
const shown = (c: Column, n: NodeView) => (c.key === 'lastSeenAt' || (c.key === 'keyExpiresAt' && !n.keyExpiryDisabled) ? when(c.value(n) || null) : c.value(n) || '—');

export const nodesTableView: View = {
  title: 'Nodes',
  render(main) {
    const filter = h('input', { type: 'search', placeholder: 'name, tag, address or status' });
    const count = h('p', { class: 'summary', 'aria-live': 'polite' }, 'Loading nodes…');
    const body = h('tbody');
    let sortKey = 'name';
    let ascending = true;
    let nodes: NodeView[] = [];
    const headers = COLUMNS.map((c) => {
      const button = h('button', { type: 'button', class: 'sort' }, c.label);
      const th = h('th', { scope: 'col', 'aria-sort': c.key === sortKey ? 'ascending' : 'none' }, button);
      button.addEventListener('click', () => {
        ascending = sortKey === c.key ? !ascending : true;
        sortKey = c.key;
        for (const other of table.querySelectorAll('th')) other.setAttribute('aria-sort', 'none');
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        draw();
      });
      return th;
    });
    const table = h('table', { class: 'data' }, h('caption', { class: 'visually-hidden' }, 'Nodes of the tenant'), h('thead', {}, h('tr', {}, ...headers)), body);

    const draw = () => {
      const needle = filter.value.trim().toLowerCase();
      const column = COLUMNS.find((c) => c.key === sortKey)!;
      const rows = nodes
        .filter((n) => !needle || COLUMNS.some((c) => c.value(n).toLowerCase().includes(needle)))
        .sort((a, b) => (ascending ? 1 : -1) * column.value(a).localeCompare(column.value(b)));
      body.replaceChildren(...rows.map((n) => h('tr', { 'data-node': n.id },
        ...COLUMNS.map((c, i) => i === 0 ? h('th', { scope: 'row' }, n.name) : h('td', { class: c.key === 'status' ? `status-${n.status}` : undefined }, shown(c, n))))));
      count.textContent = needle ? `${rows.length} of ${nodes.length} nodes` : `${nodes.length} nodes`;
    };
    filter.addEventListener('input', draw);
    main.append(h('h1', {}, 'Nodes'), h('div', { class: 'toolbar' }, field('Filter nodes', filter)), count, h('div', { class: 'table-scroll' }, table));
    void (async () => {
      try {
        nodes = (await api<NodeView[]>('GET', '/api/v1/nodes')).body;
        draw();
      } catch (error) {
        count.textContent = `Could not load the nodes: ${error instanceof ApiError ? error.message : String(error)}`;
      }
    })();
  },
};
