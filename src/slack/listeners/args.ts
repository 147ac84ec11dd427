/**
 * What each kind of handler reads of Bolt's arguments, and no more: a unit test passes a fake
 * `ack` and a payload without an app, and Bolt's own arguments fit as they are.
 */
import type {
  AllMiddlewareArgs,
  BlockAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackOptionsMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';

/** A click on a button or a select, in a message or a modal. */
export type ActionArgs = Pick<SlackActionMiddlewareArgs<BlockAction>, 'ack' | 'body'>;

/** A modal's submission; `context` carries what the gate found out about the requester. */
export type SubmissionArgs = Pick<SlackViewMiddlewareArgs<ViewSubmitAction>, 'ack' | 'body' | 'view'> & Pick<AllMiddlewareArgs, 'context'>;

/** A slash command. */
export type CommandArgs = Pick<SlackCommandMiddlewareArgs, 'command' | 'ack'> & Pick<AllMiddlewareArgs, 'logger'>;

/** An external select asking for its options. */
export type OptionsArgs = Pick<SlackOptionsMiddlewareArgs<'block_suggestion'>, 'ack' | 'body'>;

/** The App Home tab opened. */
export type AppHomeOpenedArgs = Pick<SlackEventMiddlewareArgs<'app_home_opened'>, 'event'>;
