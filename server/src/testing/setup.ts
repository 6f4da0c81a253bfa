// Decorator metadata needs the Reflect polyfill before any entity or resolver class loads.
import 'reflect-metadata';
