import { describe, expect, it } from 'vitest';
import { parseSkillMarkdown, serialiseSkillMarkdown } from './frontmatter';
import { renderSkill, SkillArgumentError } from './render';

const VALID = `---
name: weekly-report
description: Drafts the weekly status report from notes.
arguments:
  - name: team
    description: Which team
    required: true
  - week
argument-hint: "[team] [week]"
allowed-tools: Read, Grep
tags: [reporting, weekly]
license: MIT
disable-model-invocation: true
---

Write the report for $team, week {{ week }}.
`;

function errorsOf(text: string) {
  const result = parseSkillMarkdown(text);
  expect(result.ok).toBe(false);
  return result.issues.filter((issue) => issue.severity === 'error').map((issue) => `${issue.line}: ${issue.message}`);
}

describe('SKILL.md parsing', () => {
  it('reads every field, normalises line ends, keeps the body', () => {
    const result = parseSkillMarkdown(VALID.replace(/\n/g, '\r\n'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.skill.frontmatter).toMatchObject({
      name: 'weekly-report',
      arguments: [{ name: 'team', description: 'Which team', required: true }, { name: 'week' }],
      'allowed-tools': 'Read, Grep',
      tags: ['reporting', 'weekly'],
      'disable-model-invocation': true,
    });
    expect(result.skill.body).toBe('Write the report for $team, week {{ week }}.\n');
    expect(result.skill.content).toBe(VALID);
    expect(result.issues).toEqual([]);
  });

  it('points each frontmatter error at its line', () => {
    const text = `---\nname: Weekly_Report\ndescription: ok\narguments:\n  - name: team\n    required: yes please\n---\nbody\n`;
    expect(errorsOf(text)).toEqual(['2: name may use only lower-case letters, digits and single hyphens (a-z, 0-9, -), not at the start or end', '6: required must be true or false']);
  });

  it('reports YAML syntax errors at their line and a missing field at the opening line', () => {
    expect(errorsOf(`---\nname: a\ndescription: [unclosed\n---\nbody\n`)[0]).toMatch(/^[34]: YAML: /);
    expect(errorsOf(`---\nname: fine\n---\nbody\n`)).toEqual(['1: description is required: one or two sentences saying what the skill does and when to use it']);
    expect(errorsOf(`no frontmatter\n`)[0]).toMatch(/^1: SKILL.md must start with a frontmatter block/);
    expect(errorsOf(`---\nname: a\n`)[0]).toMatch(/^1: the frontmatter block is never closed/);
  });

  it('keeps unknown fields as written, with a warning at their line', () => {
    const result = parseSkillMarkdown(`---\nname: a\ndescription: d\ncolour: blue\nmetadata:\n  owner: x\n---\nbody\n`);
    expect(result.ok).toBe(true);
    expect(result.issues).toEqual([{ line: 4, severity: 'warning', message: '"colour" is not a field Gatehouse or Claude knows; it is kept as written' }]);
  });

  it('refuses duplicate argument names at the second one', () => {
    expect(errorsOf(`---\nname: a\ndescription: d\narguments:\n  - x\n  - x\n---\nb\n`)).toEqual(['6: argument "x" is listed twice']);
  });

  it('serialises fields and a body into a SKILL.md that parses back', () => {
    const text = serialiseSkillMarkdown({ name: 'hello', description: 'Says: hello', tags: ['a'] }, 'Hi $ARGUMENTS');
    const result = parseSkillMarkdown(text);
    expect(result.ok && result.skill.frontmatter).toMatchObject({ name: 'hello', description: 'Says: hello', tags: ['a'] });
  });
});

describe('renderSkill', () => {
  const skill = { name: 'weekly-report', body: 'Team $team (${team}) week {{week}}; all: $ARGUMENTS; keep $HOME and $teamwork.', arguments: [{ name: 'team', required: true }, { name: 'week' }] };

  it('substitutes declared arguments in every form and leaves other dollars alone', () => {
    expect(renderSkill(skill, { team: 'blue', week: '12' })).toBe('Team blue (blue) week 12; all: blue 12; keep $HOME and $teamwork.');
    expect(renderSkill(skill, { team: 'blue' })).toBe('Team blue (blue) week ; all: blue; keep $HOME and $teamwork.');
  });

  it('refuses a missing required argument', () => {
    expect(() => renderSkill(skill, { week: '1' })).toThrow(SkillArgumentError);
  });

  it('takes free text for $ARGUMENTS when nothing is declared, and appends it when unused', () => {
    expect(renderSkill({ name: 'x', body: 'Fix $ARGUMENTS now', arguments: [] }, { arguments: 'issue 42' })).toBe('Fix issue 42 now');
    expect(renderSkill({ name: 'x', body: 'Just do it.\n', arguments: [] }, { ARGUMENTS: 'quickly' })).toBe('Just do it.\n\nARGUMENTS: quickly\n');
    expect(renderSkill({ name: 'x', body: 'Just do it.\n', arguments: [] }, {})).toBe('Just do it.\n');
  });
});
