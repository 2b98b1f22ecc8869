import { auditCommand } from './commands/audit';
import { dbCommand } from './commands/db';
import { keysCommand } from './commands/keys';
import { skillsCommand } from './commands/skills';
import { mcpCommand } from './commands/mcp';
import { mdmCommand } from './commands/mdm';
import { pluginsCommand } from './commands/plugins';
import { tokenCommand } from './commands/token';
import { usersCommand } from './commands/users';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const USAGE = `Usage: gatehouse <command> [options]

Commands:
  db migrate                 Apply pending database migrations (as the migration role)
  users create               Create a user (--email --name [--department] [--role ...] [--password])
  users list                 List users with department, roles and status
  users revoke               Disable a user and end their sessions (--email)
  token mint                 Print an access token for a user (--email [--ttl S] [--aud A])
  keys rotate | list         Rotate the token signing key, or list keys
  plugins …                  Publish, approve, entitle, withdraw and list org plugins
  mcp …                      Register, scope, check, approve and revoke MCP servers
  mcp bundle sign | verify | ca
                             Sign desktop extensions (.mcpb) as the organisation, check a signature
  mcp policy …               Per-principal tool policy: allow, ask or block MCP and built-in tools
  audit verify               Verify every audit hash chain and its signed checkpoints
  audit checkpoints          Export the signed checkpoints ([--tenant ID] [--json])
  audit checkpoint-key       Print the checkpoint public key(s) to pin elsewhere
  audit query                Filter audit events (the explorer's filters) as a table or --json lines
  audit export               Stream events as CSV or NDJSON (--format --since [--until] [--out FILE])
  skills import|export|list  A user's skills in and out (--user EMAIL; see skills --help)
  mdm macos | windows | claude-code
                             Device profiles for Claude Desktop and Claude Code ([--out FILE])

Run \`gatehouse <command> --help\` for a command's options.
The database is DATABASE_URL (GATEHOUSE_MIGRATION_DATABASE_URL for db migrate), or the embedded
one under GATEHOUSE_DATA_DIR (default .data/).`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  db: dbCommand,
  users: usersCommand,
  audit: auditCommand,
  keys: keysCommand,
  plugins: pluginsCommand,
  mcp: mcpCommand,
  token: tokenCommand,
  skills: skillsCommand,
  mdm: mdmCommand,
};

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new CliError(`unknown command "${name}" (try gatehouse --help)`, 2);
  return command(rest);
}
