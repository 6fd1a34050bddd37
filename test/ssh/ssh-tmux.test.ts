// The line editor in a real terminal that reflows on resize (tmux), through OpenSSH's client:
// after the window shrinks, editing repaints the line where it is, as bash/readline does.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startSsh, OPENSSH_OPTS, PASSWORD } from '../helpers/ssh.js';
import { tmpDir } from '../helpers/app.js';

t.test('tmux: a wrapped line stays aligned after the window shrinks', { timeout: 120_000 }, async (t) => {
  const f = await startSsh(t);
  const dir = tmpDir('xway-tmux-');
  const sock = path.join(dir, 'tmux.sock');
  const tmux = (...args: string[]) => spawnSync('tmux', ['-S', sock, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
  t.teardown(() => {
    tmux('kill-server'); // our own server, by its socket
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ssh = ['sshpass', '-p', PASSWORD, 'ssh', ...OPENSSH_OPTS, '-tt', '-p', String(f.port), 'admin@127.0.0.1'].map((a) => `'${a}'`).join(' ');
  const started = tmux('new-session', '-d', '-x', '40', '-y', '20', ssh);
  t.equal(started.status, 0, started.stderr);
  tmux('set-option', '-g', 'window-size', 'manual');
  /** The pane's text, wrapped rows joined into their lines (-J), trailing blank lines dropped. */
  const screen = () => tmux('capture-pane', '-p', '-J').stdout.replace(/\s+$/, '');
  const waitFor = async (what: string, ok: (s: string) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const s = screen();
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(screen())}`);
  };
  await waitFor('login', (s) => /Login successful\s+OK$/.test(s));

  // 50 characters at 40 columns: the editor wraps at column 40.
  const line = 'xConfiguration SystemUnit Name: "tmux-0123456789x"';
  t.equal(line.length, 50);
  tmux('send-keys', '-l', line);
  await waitFor('the typed line', (s) => s.endsWith(line));
  t.equal(tmux('resize-window', '-x', '30', '-y', '20').status, 0);
  await waitFor('the reflow', () => tmux('display-message', '-p', '#{pane_width}').stdout.trim() === '30');
  // Home, then a space: the whole line is repainted from its first row.
  tmux('send-keys', 'C-a');
  tmux('send-keys', '-l', ' ');
  const after = await waitFor('the repaint', (s) => s.endsWith(' ' + line));
  const rows = after.split('\n');
  t.equal(rows[rows.length - 1], ' ' + line, 'the line, once, on its own rows');
  t.equal(rows[rows.length - 2], 'OK', 'the row above (the banner\'s OK) is untouched');
  tmux('send-keys', 'Enter');
  await waitFor('the reply', (s) => /tmux-0123456789x"\nOK$/.test(s));
  t.equal(f.app.services.config.get('SystemUnit Name'), 'tmux-0123456789x');
});
