import type { PolicyPreviewView, PolicyView } from '@meshgate/contracts';
import { api, ApiError } from '../api-client';
import { field, h } from '../dom';
import { lineOfPath, pathOf } from '../hujson-locate';
import { isAdmin } from '../session';
import { announce, View } from './view';

const HUJSON = 'application/hujson';

/** Moves the caret to the start of a line and scrolls the editor there. */
function goToLine(editor: HTMLTextAreaElement, line: number): void {
  const lines = editor.value.split('\n');
  const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(offset, offset + (lines[line - 1]?.length ?? 0));
  const lineHeight = editor.scrollHeight / Math.max(1, lines.length);
  editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

function pairs(title: string, list: PolicyPreviewView['gained']): HTMLElement {
  if (list.length === 0) return h('p', {}, `${title}: none.`);
  return h('table', { class: 'data compact' }, h('caption', {}, `${title} (${list.length})`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'From'), h('th', { scope: 'col' }, 'To'), h('th', { scope: 'col' }, 'Reach'))),
    h('tbody', {}, ...list.map((p) => h('tr', {}, h('td', {}, p.src), h('td', {}, p.dst), h('td', {}, p.reach)))));
}

export const policyEditorView: View = {
  title: 'Policy',
  render(main, { session }) {
    const editable = session !== null && isAdmin(session);
    const editor = h('textarea', { rows: 24, spellcheck: 'false', class: 'code', autocomplete: 'off', readonly: !editable });
    const status = h('p', { class: 'summary', 'aria-live': 'polite' }, 'Loading the policy…');
    const problems = h('div', { class: 'problems', id: 'policy-problems', role: 'alert', hidden: true });
    const preview = h('section', { class: 'preview card', 'aria-label': 'Preview', hidden: true });
    const previewButton = h('button', { type: 'button', disabled: !editable }, 'Preview');
    const saveButton = h('button', { type: 'button', class: 'primary', disabled: true }, 'Save');
    const reloadButton = h('button', { type: 'button' }, 'Reload');
    let version = 0;
    /** The text the last successful preview was of: Save sends exactly it, so nothing unpreviewed is saved. */
    let previewed: string | null = null;

    const showProblems = (error: unknown) => {
      const messages = error instanceof ApiError ? error.messages : [String(error)];
      problems.hidden = false;
      editor.setAttribute('aria-invalid', 'true');
      problems.replaceChildren(
        h('h2', {}, error instanceof ApiError && error.code === 'POLICY_TESTS_FAILED' ? 'Failing policy tests' : 'The policy was refused'),
        h('ul', {}, ...messages.map((message) => {
          const path = pathOf(message);
          const line = path ? lineOfPath(editor.value, path) : null;
          if (line === null) return h('li', {}, message);
          const link = h('button', { type: 'button', class: 'link-button', 'data-line': line }, `line ${line}`);
          link.addEventListener('click', () => goToLine(editor, line));
          return h('li', {}, link, ' ', message);
        })));
    };
    const clearProblems = () => {
      problems.hidden = true;
      problems.replaceChildren();
      editor.removeAttribute('aria-invalid');
    };
    const invalidate = () => {
      previewed = null;
      saveButton.disabled = true;
    };

    const load = async () => {
      invalidate();
      clearProblems();
      preview.hidden = true;
      try {
        // The HuJSON as written (comments kept) when it was written so; JSON otherwise.
        const reply = await api<PolicyView | string>('GET', '/api/v1/policies', { headers: { accept: `${HUJSON}, application/json;q=0.5` } });
        version = Number((reply.headers.get('etag') ?? '"0"').replace(/"/g, ''));
        editor.value = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body.policy ?? {}, null, 2);
        status.textContent = `Version ${version}${editable ? '' : ' (read only: owners and admins edit the policy)'}`;
      } catch (error) {
        status.textContent = `Could not load the policy: ${error instanceof ApiError ? error.message : String(error)}`;
      }
    };

    previewButton.addEventListener('click', async () => {
      const text = editor.value;
      clearProblems();
      invalidate();
      previewButton.disabled = true;
      try {
        const diff = (await api<PolicyPreviewView>('POST', '/api/v1/policies/preview', { text: { body: text, contentType: HUJSON } })).body;
        if (diff.baseVersion !== version) {
          status.textContent = `The policy changed since it was loaded (now version ${diff.baseVersion}): reload before saving.`;
        } else if (editor.value === text) {
          previewed = text;
          saveButton.disabled = false;
        }
        preview.hidden = false;
        preview.replaceChildren(
          h('h2', {}, 'Preview'),
          ...(diff.warnings.length ? [h('ul', { class: 'warnings' }, ...diff.warnings.map((w) => h('li', {}, w)))] : []),
          h('p', {}, `${diff.changedNodes.length} node${diff.changedNodes.length === 1 ? '' : 's'} would get a new config${diff.changedNodes.length ? `: ${diff.changedNodes.map((n) => n.name).join(', ')}` : ''}.`),
          pairs('Gained', diff.gained), pairs('Lost', diff.lost),
          ...(diff.truncated ? [h('p', {}, 'The lists are cut short; the node count is complete.')] : []));
        announce(`Preview: ${diff.gained.length} gained, ${diff.lost.length} lost`);
      } catch (error) {
        preview.hidden = true;
        showProblems(error);
      } finally {
        previewButton.disabled = !editable;
      }
    });

    saveButton.addEventListener('click', async () => {
      if (previewed === null || previewed !== editor.value) return invalidate();
      saveButton.disabled = true;
      try {
        const saved = await api<PolicyView>('PUT', '/api/v1/policies', { text: { body: previewed, contentType: HUJSON }, headers: { 'if-match': `"${version}"` } });
        version = saved.body.version;
        previewed = null;
        preview.hidden = true;
        status.textContent = `Saved: version ${version}`;
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) status.textContent = 'Someone changed the policy since you loaded it: reload, then apply your change again.';
        else showProblems(error);
      }
    });
    editor.addEventListener('input', invalidate);
    reloadButton.addEventListener('click', () => void load());
    editor.setAttribute('aria-describedby', 'policy-problems');

    main.append(h('h1', {}, 'Policy'), status,
      field('Policy (HuJSON: comments and trailing commas allowed)', editor),
      problems,
      h('div', { class: 'toolbar' }, previewButton, saveButton, reloadButton, h('small', { class: 'hint' }, 'Preview first: Save sends the previewed text, with the version you loaded.')),
      preview);
    void load();
  },
};
