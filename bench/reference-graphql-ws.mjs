#!/usr/bin/env node
// The reference for Plansync's `workflowEvents` fan-out (bench/run.mjs starts it): a bare graphql-ws server,
// nothing else. A graphql-js schema with one subscription of the same shape as Plansync's
// (`workflowEvents(executionId, after): WorkflowEvent!`, WorkflowEvent { cursor executionId stepKey status at
// execution { id definitionKey status } }), graphql-ws's `useServer` on ws, and an in-memory pub/sub. No
// authentication, no validation rules beyond graphql-js's, no replay, no storage.
//
// The bench drives it over HTTP:
//   GET  /healthz   200
//   POST /publish   { groups: [{ offsetMs, events: [{ executionId, stepKey, status, executionStatus }] }] }
//                   publishes each group `offsetMs` after the request, every event of a group at once (as
//                   Plansync publishes the events of one transaction), each with `at` = the publish time.
// Environment: PORT, HOST (default 127.0.0.1).
import {
  GraphQLID,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  GraphQLBoolean,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { publishingHttpServer } from './lib/publishServer.mjs';

// ------------------------------------------------------------------------------------------- pub/sub
/** The simplest in-memory pub/sub: a set of listeners, and an async iterator per subscriber. */
class PubSub {
  listeners = new Set();

  publish(event) {
    for (const listener of this.listeners) listener(event);
  }

  subscribe() {
    const queue = [];
    let waiting = null;
    let done = false;
    const listener = (event) => {
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve({ value: event, done: false });
      } else queue.push(event);
    };
    this.listeners.add(listener);
    const stop = () => {
      done = true;
      this.listeners.delete(listener);
      if (waiting) waiting({ value: undefined, done: true });
      waiting = null;
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: stop,
      throw: (err) => {
        stop();
        return Promise.reject(err);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
const pubsub = new PubSub();

// ------------------------------------------------------------------------------------------- schema
const DateTimeISO = new GraphQLScalarType({
  name: 'DateTimeISO',
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
});
const WorkflowExecution = new GraphQLObjectType({
  name: 'WorkflowExecution',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID) },
    definitionKey: { type: new GraphQLNonNull(GraphQLString) },
    status: { type: new GraphQLNonNull(GraphQLString) },
  },
});
const WorkflowEvent = new GraphQLObjectType({
  name: 'WorkflowEvent',
  fields: {
    cursor: { type: new GraphQLNonNull(GraphQLString) },
    executionId: { type: new GraphQLNonNull(GraphQLID) },
    stepKey: { type: GraphQLString },
    status: { type: new GraphQLNonNull(GraphQLString) },
    at: { type: new GraphQLNonNull(DateTimeISO) },
    execution: { type: new GraphQLNonNull(WorkflowExecution) },
  },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean, resolve: () => true } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      workflowEvents: {
        type: new GraphQLNonNull(WorkflowEvent),
        args: { executionId: { type: GraphQLID }, after: { type: GraphQLString } },
        subscribe: () => pubsub.subscribe(),
        resolve: (event) => event,
      },
    },
  }),
});

// ------------------------------------------------------------------------------------------- server
let cursor = 0;
function publishGroup(events) {
  for (const e of events) {
    const at = new Date();
    pubsub.publish({
      cursor: Buffer.from(`workflow_event:${++cursor}`).toString('base64url'),
      executionId: e.executionId,
      stepKey: e.stepKey ?? null,
      status: e.status,
      at,
      execution: { id: e.executionId, definitionKey: e.definitionKey ?? 'new_partner', status: e.executionStatus ?? e.status, createdAt: at, updatedAt: at },
    });
  }
}

const server = publishingHttpServer(publishGroup);
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer({ schema }, wss);

const port = Number(process.env.PORT ?? 4100);
server.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
