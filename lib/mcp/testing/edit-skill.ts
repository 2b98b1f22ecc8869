// Test support: edits a skill through lib/skills from a process of its own, as a second web
// process would when someone saves in the dashboard there. Argument: JSON {actor, skillId,
// content, baseVersion}. Exits once the change signal has been sent.
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase } from '@/lib/db/client';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { saveSkill, type SkillActor } from '@/lib/skills';

const input = JSON.parse(process.argv[2] ?? '{}') as { actor: SkillActor; skillId: string; content: string; baseVersion: number };
const saved = await saveSkill(input.actor, input.skillId, { content: input.content, baseVersion: input.baseVersion });
await drainBackgroundTasks();
await closeAuditWriter();
await closeDatabase();
console.log(JSON.stringify({ pid: process.pid, version: saved.skill.version }));
